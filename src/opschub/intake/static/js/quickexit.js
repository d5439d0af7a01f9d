// Quick exit, as child-safety sites do: the button (or Esc) blanks the page at once and leaves for
// a neutral site with location.replace(), so the Back button does not return to this page. Esc
// must be pressed twice (within 2 seconds) so that closing a browser pop-up does not leave a half
// written report.
// Without JS the button is a plain link to the same neutral site.
"use strict";
(function () {
  const button = document.querySelector("[data-quick-exit]");
  if (!button) return;
  const hint = document.querySelector(".quick-exit-hint");
  if (hint) hint.hidden = false;

  function leave(event) {
    if (event) event.preventDefault();
    document.title = "";
    document.body.hidden = true;
    window.location.replace(button.href);
  }

  let lastEscape = 0;
  button.addEventListener("click", leave);
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape" || event.repeat) return;
    const now = Date.now();
    if (now - lastEscape < 2000) leave(event);
    lastEscape = now;
  });
})();

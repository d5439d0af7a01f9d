// The assessment page: keyboard shortcuts and a confirmation before material is revealed.
// Everything here is an addition: every action is also a plain form without script.
(function () {
  "use strict";

  function typing(target) {
    var tag = target && target.tagName;
    return tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT" || (target && target.isContentEditable);
  }

  function reveal() {
    var form = document.getElementById("reveal-form");
    var button = document.getElementById("reveal");
    if (!form || !button) { return; }
    if (!window.confirm(button.getAttribute("data-confirm"))) { return; }
    document.getElementById("reveal-confirm").checked = true;
    form.submit();
  }

  var form = document.getElementById("reveal-form");
  if (form) {
    // A click on "Reveal" asks first too; the tick box stays the no-script confirmation.
    form.addEventListener("submit", function (event) {
      var box = document.getElementById("reveal-confirm");
      if (box.checked) { return; }
      event.preventDefault();
      reveal();
    });
  }

  function click(id) {
    var element = document.getElementById(id);
    if (element) { element.click(); }
  }

  function answerYes(index) {
    var names = ["real_child", "under_13", "abuse_or_genitals"];
    var radio = document.getElementById(names[index] + "-yes");
    if (radio) { radio.checked = true; radio.focus(); }
  }

  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey) { return; }
    if (typing(event.target) && event.target.type !== "radio" && event.target.type !== "checkbox") { return; }
    switch (event.key) {
      case "r": event.preventDefault(); reveal(); break;
      case "i": event.preventDefault(); click("decide-illegal"); break;
      case "n": event.preventDefault(); click("decide-not-illegal"); break;
      case "1": answerYes(0); break;
      case "2": answerYes(1); break;
      case "3": answerYes(2); break;
      case "b": click("back"); break;
      default: return;
    }
  });
})();

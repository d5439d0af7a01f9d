// Upload progress for a regional file: the form is sent with XMLHttpRequest so that the bytes
// sent can be shown; then the server checks every figure (all or nothing) and answers with the
// submissions page, or with this page listing every problem (shown in place, the form ready
// again). Without JS the form posts as usual.
"use strict";
(function () {
  if (typeof XMLHttpRequest !== "function" || typeof FormData !== "function") return;

  function send(form) {
    const box = document.getElementById("upload-progress-box");
    const bar = document.getElementById("upload-progress");
    const status = document.getElementById("upload-status");
    const request = new XMLHttpRequest();
    request.open("POST", form.action);
    box.hidden = false;
    form.querySelector("button[type=submit]").disabled = true;
    request.upload.addEventListener("progress", function (progress) {
      if (progress.lengthComputable) bar.value = Math.round((100 * progress.loaded) / progress.total);
    });
    request.upload.addEventListener("load", function () {
      bar.removeAttribute("value"); // indeterminate while the server checks the figures
      status.textContent = status.dataset.checking;
    });
    request.addEventListener("load", function () {
      if (request.status < 400 && request.responseURL) {
        window.location.assign(request.responseURL);
        return;
      }
      const answer = new DOMParser().parseFromString(request.responseText, "text/html");
      const main = answer.getElementById("main");
      if (!main) {
        form.submit();
        return;
      }
      document.getElementById("main").replaceWith(main);
      document.title = answer.title;
      const errors = document.getElementById("file-errors") || main.querySelector("[aria-invalid]");
      if (errors) errors.focus();
    });
    request.addEventListener("error", function () {
      form.submit(); // the plain post still works
    });
    request.send(new FormData(form));
  }

  document.addEventListener("submit", function (event) {
    const form = event.target;
    if (!(form instanceof HTMLFormElement) || form.id !== "upload-form") return;
    event.preventDefault();
    send(form);
  });
})();

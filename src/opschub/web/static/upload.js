// Upload progress for a large file, shared by every page that takes one (the hash-list import,
// the regional figures): a form marked data-upload is sent with XMLHttpRequest so that the bytes
// sent can be shown in its [data-upload-box] (web/_upload_progress.html). The server then checks
// the whole file (all or nothing) and answers with the next page, or with this page listing every
// problem: that page's main replaces this one's in place, the form ready again and the problems
// focused. Without JS the form posts as usual.
"use strict";
(function () {
  if (typeof XMLHttpRequest !== "function" || typeof FormData !== "function") return;

  function send(form, box) {
    const bar = box.querySelector("progress");
    const status = box.querySelector("[role=status]");
    const request = new XMLHttpRequest();
    request.open("POST", form.action);
    box.hidden = false;
    form.querySelector("button[type=submit]").disabled = true;
    request.upload.addEventListener("progress", function (progress) {
      if (progress.lengthComputable) bar.value = Math.round((100 * progress.loaded) / progress.total);
    });
    request.upload.addEventListener("load", function () {
      bar.removeAttribute("value"); // indeterminate while the server checks the file
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
    if (!(form instanceof HTMLFormElement) || !form.hasAttribute("data-upload")) return;
    const box = form.querySelector("[data-upload-box]");
    if (!box) return;
    event.preventDefault();
    send(form, box);
  });
})();

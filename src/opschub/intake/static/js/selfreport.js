/*
 * opschub "Report an image of me": fingerprints the chosen file in the browser and fills the
 * form with the fingerprints only. The file itself is never sent.
 *
 * Load, in this order, with <script src="..." defer> (no inline script is needed):
 *   pdq.js, md5.js, sha256.js, fingerprint.js, selfreport.js
 *
 * HTML contract (the server-side template provides it; ids and names are fixed):
 *   <form id="selfreport-form" method="post" action="..."
 *         data-msg-working="..."      shown while fingerprinting; "{percent}" becomes 0, 10 ... 100
 *         data-msg-ready="..."        fingerprints ready, the button is enabled
 *         data-msg-cannot-read="..."  the browser cannot open this picture; nothing will be sent
 *         data-msg-not-media="..."    not a photo or video; nothing will be sent
 *         data-msg-empty="...">       the file is empty or could not be read; nothing will be sent
 *     <input type="file" id="selfreport-file" accept="image/*,video/*">   (NO name attribute)
 *     <input type="hidden" name="sha256"> <input type="hidden" name="md5">
 *     <input type="hidden" name="pdq"> <input type="hidden" name="pdq_quality">
 *     <input type="hidden" name="media_kind">
 *     <output id="selfreport-status" aria-live="polite"></output>
 *     <button type="submit" id="selfreport-submit" disabled>...</button>
 *   </form>
 * Other named fields (age band, CSRF token...) are left alone and submitted as usual.
 *
 * Behaviour:
 *   - A name on the file input is removed (and reported on the console): the file can never be
 *     part of the submission. The form is forced to application/x-www-form-urlencoded.
 *   - Choosing a file clears the fingerprints, disables the button, shows data-msg-working, then
 *     fills the hidden inputs (media_kind is "image" or "video"; pdq and pdq_quality are empty for
 *     video) and enables the button with data-msg-ready. A file the browser cannot decode, an
 *     empty file or a file that is neither image nor video leaves every hidden input empty, the
 *     button disabled, and shows the matching message.
 *   - Submitting without ready fingerprints is prevented; otherwise the file input is cleared
 *     before the browser builds the request.
 *   - The form's `data-state` attribute is "idle", "working", "ready" or "error" (for tests/CSS).
 *   - Coming back through the back/forward cache resets the form (state idle, fields empty).
 * Messages are set with textContent, never as HTML. Missing data-msg-* attributes fall back to
 * the English texts below.
 *
 * Global: OpschubSelfReport.bind(form) -> binds a form (done automatically on DOMContentLoaded for
 * #selfreport-form).
 */
(function (root) {
  "use strict";

  var FALLBACK = {
    working: "Working on your file. It stays on your device. {percent}%",
    ready: "Ready. Only the fingerprints of your file will be sent, never the file.",
    "cannot-read": "We cannot open this picture here. Nothing was sent. Try another file.",
    "not-media": "This is not a photo or a video. Nothing was sent. Try another file.",
    empty: "This file is empty or could not be read. Nothing was sent. Try another file.",
  };
  var FIELDS = ["sha256", "md5", "pdq", "pdq_quality", "media_kind"];

  function message(form, key, percent) {
    var text = form.getAttribute("data-msg-" + key);
    if (text === null || text === "") text = FALLBACK[key];
    return text.split("{percent}").join(String(percent === undefined ? 0 : percent));
  }

  function bind(form) {
    var fileInput = form.querySelector("#selfreport-file");
    var status = form.querySelector("#selfreport-status");
    var submit = form.querySelector("#selfreport-submit");
    var fields = {};
    FIELDS.forEach(function (name) {
      fields[name] = form.querySelector('input[type="hidden"][name="' + name + '"]');
    });
    var missing = FIELDS.filter(function (name) {
      return !fields[name];
    }).map(function (name) {
      return 'input[type="hidden"][name="' + name + '"]';
    });
    if (!fileInput) missing.push("#selfreport-file");
    if (!status) missing.push("#selfreport-status");
    if (!submit) missing.push("#selfreport-submit");
    if (missing.length) throw new Error("selfreport form is missing " + missing.join(", "));
    if (fileInput.hasAttribute("name")) {
      console.error("selfreport: the file input must have no name; removing it");
      fileInput.removeAttribute("name");
    }
    form.setAttribute("enctype", "application/x-www-form-urlencoded");

    var generation = 0; // a newer choice of file makes older results stale

    function setState(state, text) {
      form.setAttribute("data-state", state);
      status.textContent = text;
      submit.disabled = state !== "ready";
    }

    function clearFields() {
      FIELDS.forEach(function (name) {
        fields[name].value = "";
      });
    }

    async function onFileChosen() {
      var current = ++generation;
      clearFields();
      var file = fileInput.files && fileInput.files[0];
      if (!file) {
        form.setAttribute("data-state", "idle");
        status.textContent = "";
        submit.disabled = true;
        return;
      }
      setState("working", message(form, "working", 0));
      var lastPercent = -1;
      var result;
      try {
        result = await root.OpschubFingerprint.fingerprintFile(file, {
          onProgress: function (p) {
            if (current !== generation || p.phase !== "bytes" || !p.total) return;
            // 10% steps: the status is a live region, each change is read out.
            var percent = 10 * Math.floor((10 * p.done) / p.total);
            if (percent !== lastPercent) {
              lastPercent = percent;
              status.textContent = message(form, "working", percent);
            }
          },
        });
      } catch (e) {
        result = { kind: "other", error: "unreadable", message: String(e) };
      }
      if (current !== generation) return;
      if (result.error === "cannot-decode") return setState("error", message(form, "cannot-read"));
      if (result.error) return setState("error", message(form, "empty"));
      if (result.kind !== "image" && result.kind !== "video") {
        return setState("error", message(form, "not-media"));
      }
      fields.sha256.value = result.sha256;
      fields.md5.value = result.md5;
      fields.pdq.value = result.pdq || "";
      fields.pdq_quality.value = result.quality === null ? "" : String(result.quality);
      fields.media_kind.value = result.kind;
      setState("ready", message(form, "ready"));
    }

    fileInput.addEventListener("change", onFileChosen);
    // Back/forward cache: start clean rather than trust restored field values.
    window.addEventListener("pageshow", function (event) {
      if (!event.persisted) return;
      generation++;
      clearFields();
      fileInput.value = "";
      form.setAttribute("data-state", "idle");
      status.textContent = "";
      submit.disabled = true;
    });
    form.addEventListener("submit", function (event) {
      if (form.getAttribute("data-state") !== "ready" || !fields.sha256.value) {
        event.preventDefault();
        return;
      }
      fileInput.value = "";
    });
    form.setAttribute("data-state", "idle");
    submit.disabled = true;
    return form;
  }

  function autoBind() {
    var form = document.getElementById("selfreport-form");
    if (form) bind(form);
  }

  root.OpschubSelfReport = { bind: bind };
  if (typeof document !== "undefined") {
    if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", autoBind);
    else autoBind();
  }
})(typeof globalThis !== "undefined" ? globalThis : this);

// The proceedings form checks the step as the person chooses it: the same rules the service
// enforces (opschub.cases.stages), asked of /api/v1/cases/{id}/proceedings/check.
(function () {
  "use strict";
  var form = document.getElementById("step-form");
  if (!form) { return; }
  var out = document.getElementById("step-check");
  var token = form.querySelector("input[name=csrf_token]");
  function check() {
    var on = form.elements.on.value;
    if (!on) { out.textContent = ""; return; }
    var body = {
      suspect_id: form.elements.suspect_id.value,
      kind: form.elements.kind.value,
      on: on,
      amount: form.elements.amount.value === "" ? null : form.elements.amount.value
    };
    fetch(form.getAttribute("data-check"), {
      method: "POST",
      credentials: "same-origin",
      headers: {
        "Content-Type": "application/json",
        "Accept": "application/json",
        "X-CSRF-Token": token ? token.value : ""
      },
      body: JSON.stringify(body)
    }).then(function (r) { return r.ok ? r.json() : null; }).then(function (answer) {
      if (!answer) { out.textContent = ""; return; }
      out.textContent = answer.ok ? (out.getAttribute("data-ok") || "✓") :
        answer.errors.map(function (e) {
          var label = document.querySelector("label[for=step-" + e.field.replace("/", "").replace("_id", "") + "]");
          var text = out.getAttribute("data-problem-" + e.code.replace(/_/g, "-")) || e.message;
          return (label ? label.textContent + " " : "") + text;
        }).join("; ");
    }).catch(function () { out.textContent = ""; });
  }
  ["change", "input"].forEach(function (ev) { form.addEventListener(ev, check); });
}());

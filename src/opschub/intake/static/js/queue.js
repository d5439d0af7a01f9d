// The analysts' queue: keyboard shortcuts, row selection and the 30-second refresh.
// Everything here is an addition: every action is also a plain link or form without script.
(function () {
  "use strict";

  var rows = Array.prototype.slice.call(document.querySelectorAll("table.queue tbody tr[data-href]"));
  var current = -1;
  var help = document.getElementById("kbd-help");
  var lastFocus = null;

  function typing(target) {
    var tag = target && target.tagName;
    return tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT" || (target && target.isContentEditable);
  }

  function select(index) {
    if (!rows.length) { return; }
    index = Math.max(0, Math.min(rows.length - 1, index));
    if (current >= 0) { rows[current].classList.remove("selected"); }
    current = index;
    var row = rows[current];
    row.classList.add("selected");
    var anchor = row.querySelector("a.ref");
    if (anchor) { anchor.focus(); }
    row.scrollIntoView({ block: "nearest" });
  }

  function toggleHelp(show) {
    if (!help) { return; }
    var open = show === undefined ? help.hidden : show;
    if (open) {
      lastFocus = document.activeElement;
      help.hidden = false;
      document.getElementById("kbd-help-close").focus();
    } else {
      help.hidden = true;
      if (lastFocus && lastFocus.focus) { lastFocus.focus(); }
    }
  }

  function claimSelected() {
    var form = document.getElementById("bulk");
    if (form && current >= 0) {
      Array.prototype.forEach.call(form.querySelectorAll("input[name=ids]"), function (box) {
        box.checked = false;
      });
      var box = rows[current].querySelector("input[name=ids]");
      var action = document.getElementById("b-action");
      if (box && action) {
        box.checked = true;
        action.value = "claim";
        form.submit();
      }
      return;
    }
    var claim = document.getElementById("claim");
    if (claim) { claim.click(); }
  }

  function assess() {
    if (current >= 0) {
      window.location.href = rows[current].getAttribute("data-href") + "#change-status";
      return;
    }
    var status = document.getElementById("new-status");
    if (status) {
      status.scrollIntoView({ block: "center" });
      status.focus();
    }
  }

  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey) { return; }
    if (event.key === "Escape" && help && !help.hidden) { toggleHelp(false); return; }
    if (typing(event.target)) { return; }
    switch (event.key) {
      case "t": if (document.getElementById("start-takedown")) { document.getElementById("start-takedown").click(); } break;
      case "j": select(current + 1); break;
      case "k": select(current < 0 ? 0 : current - 1); break;
      case "Enter":
        if (current >= 0 && event.target === document.body) {
          window.location.href = rows[current].getAttribute("data-href");
        } else { return; }
        break;
      case "x":
        if (current >= 0) {
          var box = rows[current].querySelector("input[name=ids]");
          if (box) { box.checked = !box.checked; }
        }
        break;
      case "c": claimSelected(); break;
      case "a": assess(); break;
      case "/":
        var search = document.getElementById("f-q");
        if (search) { search.focus(); } else { return; }
        break;
      case "?": toggleHelp(); break;
      default: return;
    }
    event.preventDefault();
  });

  if (help) {
    document.getElementById("kbd-help-close").addEventListener("click", function () { toggleHelp(false); });
  }
  if (window.location.hash === "#change-status") { assess(); }

  // -- refresh: every 30 s ask for new urgent or high reports and say so -----------------------
  var notice = document.getElementById("queue-notice");
  if (!notice || !window.fetch) { return; }
  var seen = {};
  function poll() {
    var url = notice.getAttribute("data-poll");
    url += (url.indexOf("?") < 0 ? "?" : "&") + "since=" + encodeURIComponent(notice.getAttribute("data-since"));
    fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (data) {
        if (!data || !data.new) { return; }
        var fresh = data.new.filter(function (item) { return !seen[item.reference]; });
        if (!fresh.length) { return; }
        var names = data.new.map(function (item) { return item.reference + " (" + item.level_label + ")"; });
        data.new.forEach(function (item) { seen[item.reference] = true; });
        notice.textContent = "";
        var text = document.createElement("p");
        text.className = "flash";
        text.textContent = notice.getAttribute("data-text-new").replace("%(list)s", names.join(", ")) + " ";
        var link = document.createElement("a");
        link.href = notice.getAttribute("data-reload");
        link.textContent = notice.getAttribute("data-text-reload");
        text.appendChild(link);
        notice.appendChild(text);
      })
      .catch(function () { /* offline for a moment: try again at the next tick */ });
  }
  window.setInterval(poll, 30000);
  notice.pollNow = poll; // lets a browser test ask without waiting 30 s
})();

// Records Content-Security-Policy violations so a test can assert there were none.
"use strict";
window.cspViolations = [];
document.addEventListener("securitypolicyviolation", function (event) {
  window.cspViolations.push(event.violatedDirective + " " + event.blockedURI);
});

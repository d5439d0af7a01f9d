// Starts Swagger UI from local files; kept out of the page so the CSP needs no inline script.
"use strict";
(function () {
  const node = document.getElementById("swagger-ui");
  if (!node || typeof SwaggerUIBundle !== "function") return;
  SwaggerUIBundle({
    url: node.dataset.openapiUrl,
    dom_id: "#swagger-ui",
    deepLinking: false,
    // The default validator is a third-party service: the page loads nothing from other sites.
    validatorUrl: null,
  });
})();

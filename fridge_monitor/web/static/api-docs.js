// Starts Swagger UI on the API page (templates/api_docs.html) from openapi.json: a file, not an inline script,
// so the Content-Security-Policy stays script-src 'self'.
"use strict";
window.addEventListener("DOMContentLoaded", function () {
  var el = document.getElementById("swagger-ui");
  if (!el || typeof window.SwaggerUIBundle !== "function") { return; }
  window.SwaggerUIBundle({
    url: el.dataset.url,
    domNode: el,
    deepLinking: true,
    validatorUrl: null,  // never send the document to an outside validator
    tryItOutEnabled: false,
  });
});

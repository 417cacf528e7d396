// Draws the trends page's charts: Vega-Lite specs (data inline) from the page's JSON block.
// Runs under the view's Content-Security-Policy: no eval (vega-embed's expression interpreter,
// `ast: true`), no injected <style> (the rules live in reports.css).
"use strict";
(function () {
  const specs = JSON.parse(document.getElementById("trend-specs").textContent);
  const options = {
    renderer: "svg",
    ast: true,
    defaultStyle: false,
    forceActionsMenu: true,
    actions: { export: true, source: false, compiled: false, editor: false },
    tooltip: { disableDefaultStyle: true },
  };
  for (const element of document.querySelectorAll("[data-chart]")) {
    const spec = specs[element.dataset.chart];
    vegaEmbed(element, spec, options)
      .then(() => element.setAttribute("data-rendered", String(spec.data.values.length)))
      .catch((error) => {
        console.error("chart " + element.dataset.chart + " failed to draw:", error);
        element.textContent = "chart failed to draw: " + error;
        element.setAttribute("data-error", String(error));
      });
  }
})();

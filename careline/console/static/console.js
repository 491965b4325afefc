// Draws every chart on the page from the figure the server put in its data-figure attribute.
"use strict";
document.addEventListener("DOMContentLoaded", function () {
  document.querySelectorAll(".chart[data-figure]").forEach(function (element) {
    var figure = JSON.parse(element.getAttribute("data-figure"));
    Plotly.newPlot(element, figure.data, figure.layout, {
      displaylogo: false,
      responsive: true,
    }).then(function () {
      element.setAttribute("data-rendered", "true");
    });
  });
});

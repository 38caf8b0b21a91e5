// Applied before first paint (a classic script in <head>): the saved theme, else the system one.
(function () {
  var saved = null;
  try { saved = localStorage.getItem("binbot.theme"); } catch (e) { saved = null; }
  var light = window.matchMedia && window.matchMedia("(prefers-color-scheme: light)").matches;
  document.documentElement.dataset.theme = saved || (light ? "light" : "dark");
  try {
    if (localStorage.getItem("binbot.swapColors") === "1") document.documentElement.dataset.swapColors = "1";
  } catch (e) { /* storage unavailable: defaults */ }
})();

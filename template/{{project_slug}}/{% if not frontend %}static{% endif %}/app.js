// Plain JavaScript (no frontend build in this variant).
document.documentElement.dataset.js = "ready";

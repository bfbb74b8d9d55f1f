// Entry point of the frontend build: esbuild bundles this file and the CSS it imports
// into dist/app.js and dist/app.css; collectstatic then gives both content-hashed names.
import "./app.css";

document.documentElement.dataset.js = "ready";

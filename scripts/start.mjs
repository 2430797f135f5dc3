// Placeholder until the demo lands: says what `npm start` will do.
console.log("npm start will run Node-RED on http://127.0.0.1:1880 with this package and the");
console.log("progressive-shutdown example deployed against a simulated outage (not built yet).");

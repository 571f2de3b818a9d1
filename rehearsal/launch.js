// The rehearsal's stand-ins run as node actions (a composite action's `inputs` would silently drop undeclared
// `with:` keys; a node action gets an INPUT_* variable for every key). This launcher, shared by all of them,
// runs the stand-in written in Python: `$REHEARSAL_PYTHON standins.py <action> <phase>`, stdio inherited, its exit
// status passed on. The driver writes main.js / post.js (`require("./launch.js")("main")`) and standin.json.
"use strict";
const { spawnSync } = require("child_process");
const fs = require("fs");
const path = require("path");

module.exports = function launch(phase) {
  const spec = JSON.parse(fs.readFileSync(path.join(__dirname, "standin.json"), "utf8"));
  const python = process.env.REHEARSAL_PYTHON;
  if (!python) {
    console.log(`::error::${spec.action} (rehearsal stand-in): REHEARSAL_PYTHON is not set; the driver passes it`);
    process.exit(1);
  }
  const done = spawnSync(python, [path.join(__dirname, "standins.py"), spec.action, phase], { stdio: "inherit" });
  if (done.error) {
    console.log(`::error::${spec.action} (rehearsal stand-in): cannot run ${python}: ${done.error.message}`);
    process.exit(1);
  }
  process.exit(done.status === null ? 128 + (require("os").constants.signals[done.signal] || 0) : done.status);
};

"""The page at ``/``: try the model from a browser. One static HTML file, no external assets.

It offers both ways in, since the host knows no task: a file upload (images, audio, CSV) sent as
multipart, and a text box sent as JSON (a JSON value as typed, else the text as one input).
"""
from __future__ import annotations

import html
import json
from typing import Any

PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>taskhub: {title}</title>
<style>
body {{ font-family: system-ui, sans-serif; max-width: 52rem; margin: 2rem auto; padding: 0 1rem; }}
fieldset {{ margin: 1rem 0; }} textarea {{ width: 100%; }} pre {{ background: #f4f4f4; padding: 1rem; overflow: auto; }}
.error {{ color: #b00020; }}
</style></head>
<body>
<h1>{title}</h1>
<p id="about">{about}</p>
<form id="upload"><fieldset><legend>Upload files (images, audio, CSV)</legend>
<input type="file" id="file" name="file" multiple> <button type="submit" id="send-file">Predict</button>
</fieldset></form>
<form id="typed"><fieldset><legend>Or type an input (text, or JSON: a row, a series, a list of inputs)</legend>
<textarea id="text" rows="4" placeholder='a text to classify, or e.g. {{"age": 41}} or [1, 2, 3]'></textarea>
<button type="submit" id="send-text">Predict</button></fieldset></form>
<h2>Prediction</h2>
<pre id="result">nothing yet</pre>
<script>
const result = document.getElementById("result");
async function show(response) {{
  const body = await response.json().catch(() => ({{error: "the server sent no JSON"}}));
  result.className = response.ok ? "ok" : "error";
  result.textContent = response.ok ? JSON.stringify(body.predictions, null, 2) : ("error: " + body.error);
}}
document.getElementById("upload").addEventListener("submit", async (event) => {{
  event.preventDefault();
  const files = document.getElementById("file").files;
  if (!files.length) {{ result.className = "error"; result.textContent = "error: choose a file first"; return; }}
  const form = new FormData();
  for (const f of files) form.append("file", f, f.name);
  result.textContent = "predicting...";
  await show(await fetch("predict", {{method: "POST", body: form}}));
}});
document.getElementById("typed").addEventListener("submit", async (event) => {{
  event.preventDefault();
  const text = document.getElementById("text").value;
  let value; try {{ value = JSON.parse(text); }} catch (e) {{ value = text; }}
  const inputs = Array.isArray(value) && value.length && typeof value[0] === "object" ? value : [value];
  result.textContent = "predicting...";
  await show(await fetch("predict", {{method: "POST", headers: {{"content-type": "application/json"}},
                                     body: JSON.stringify({{inputs: inputs}})}}));
}});
</script>
</body></html>
"""


def render(info: dict[str, Any]) -> str:
    labels = info.get("labels") or []
    about = f"task {info.get('task')}, model {info.get('model')} ({info.get('source')})"
    if labels:
        about += "; labels: " + ", ".join(str(x) for x in labels[:30]) + (" ..." if len(labels) > 30 else "")
    return PAGE.format(title=html.escape(f"{info.get('task')} / {info.get('model')}"), about=html.escape(about),
                       info=html.escape(json.dumps(info)))

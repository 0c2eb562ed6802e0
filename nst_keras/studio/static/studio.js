// nst-keras studio: the page's one script. No framework: the form comes from /api/settings,
// the state from /api/state, and everything that happens from the event stream /api/events.
"use strict";

const $ = (id) => document.getElementById(id);
const state = {photo: null, styles: [], mode: "stylize", maxUpload: Infinity, networks: [], jobs: new Map(),
               watching: null, losses: [], fastPending: false, fastDirty: false};

function element(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (name === "text") node.textContent = value; else node.setAttribute(name, value);
  }
  node.append(...children);
  return node;
}

async function api(path, options = {}) {
  const response = await fetch(path, {...options, headers: {"X-Studio": "1", ...(options.headers || {})}});
  const body = await response.json().catch(() => ({error: `${response.status} ${response.statusText}`}));
  if (!response.ok) throw new Error(body.error || response.statusText);
  return body;
}

const post = (path, value = {}) => api(path, {method: "POST", headers: {"Content-Type": "application/json"},
                                              body: JSON.stringify(value)});

function say(text) {
  $("message").textContent = text || "";
  $("message").hidden = !text;
}

const preview = (path) => `/api/preview?path=${encodeURIComponent(path)}`;
const file = (path, download = false) => `/files/${path.split("/").map(encodeURIComponent).join("/")}` +
  (download ? "?download=1" : "");

function duration(seconds) {
  if (seconds === null || seconds === undefined) return "…";
  if (seconds < 10) return `${seconds.toFixed(1)} s`;
  if (seconds < 60) return `${Math.round(seconds)} s`;
  return `${Math.floor(seconds / 60)} min ${Math.round(seconds % 60)} s`;
}

// ---- the settings form, from the fields of nst_keras.settings ----

async function buildForm() {
  const groups = await api("/api/settings");
  const form = $("settings");
  const sweepable = [];
  for (const group of groups) {
    const box = element("details", group.name === "image" ? {open: ""} : {}, element("summary", {text: group.label}));
    for (const field of group.fields) {
      let input;
      if (field.choices) {
        input = element("select", {name: field.name});
        for (const choice of field.choices) input.append(element("option", {value: choice, text: choice}));
        input.value = field.default;
      } else {
        input = element("input", {name: field.name, placeholder: field.default || "none", autocomplete: "off"});
        if (field.kind !== "text") input.setAttribute("inputmode", "decimal");
      }
      input.dataset.default = field.default;
      box.append(element("label", {title: field.help}, element("span", {text: field.label}), input,
                         element("small", {text: field.help})));
      if (group.name !== "image") sweepable.push(field);
    }
    form.append(box);
  }
  for (const select of document.querySelectorAll(".sweep-name")) {
    select.append(element("option", {value: "", text: "setting…"}));
    for (const field of sweepable) select.append(element("option", {value: field.name, text: field.label}));
  }
  document.querySelector(".sweep-name").value = "style_weight";
}

function settingsText() {
  const texts = {};
  for (const input of $("settings").elements) {
    const changed = input.value.trim() !== "" && input.value !== input.dataset.default;
    if (input.name && changed) texts[input.name] = input.value;
  }
  return texts;
}

// ---- photo and paintings ----

async function upload(chosen) {
  if (chosen.size > state.maxUpload) {
    const mb = (bytes) => (bytes / 2 ** 20).toFixed(1);
    throw new Error(`${chosen.name}: ${mb(chosen.size)} MB is over the studio's upload limit of ` +
                    `${mb(state.maxUpload)} MB`);
  }
  const done = await api(`/api/upload?name=${encodeURIComponent(chosen.name)}`,
                         {method: "POST", body: chosen, headers: {"Content-Type": "application/octet-stream"}});
  if (done.notes.length) say(`${chosen.name}: ${done.notes.join("; ")}`);
  return done.path;
}

function setPhoto(path) {
  state.photo = path;
  $("photo-preview").src = preview(path);
  $("photo-preview").hidden = false;
  fastChanged();
}

function showStyles() {
  const box = $("style-previews");
  box.replaceChildren(...state.styles.map((path, index) => {
    const remove = element("button", {type: "button", title: "remove", text: "×"});
    remove.addEventListener("click", (click) => {
      click.preventDefault();
      state.styles.splice(index, 1);
      showStyles();
    });
    return element("span", {class: "thumb"}, element("img", {src: preview(path), alt: path}), remove);
  }));
}

async function takeFiles(files, asPhoto) {
  say("");
  for (const chosen of files) {
    try {
      const path = await upload(chosen);
      if (asPhoto) { setPhoto(path); break; }
      state.styles.push(path);
    } catch (err) { say(err.message); }
  }
  showStyles();
  refresh();
}

function wireDrop(zone, input, asPhoto) {
  input.addEventListener("change", () => takeFiles([...input.files], asPhoto).then(() => { input.value = ""; }));
  zone.addEventListener("dragover", (event) => { event.preventDefault(); zone.classList.add("over"); });
  zone.addEventListener("dragleave", () => zone.classList.remove("over"));
  zone.addEventListener("drop", (event) => {
    event.preventDefault();
    zone.classList.remove("over");
    takeFiles([...event.dataTransfer.files], asPhoto);
  });
}

function fillSelect(select, first, values, label = (value) => value) {
  const kept = select.value;
  select.replaceChildren(element("option", {value: "", text: first}),
                         ...values.map((value) => element("option", {value, text: label(value)})));
  if (values.includes(kept)) select.value = kept;
}

// ---- modes: sweep and fast ----

function sweepTexts() {
  const texts = {};
  for (const row of document.querySelectorAll(".sweep-row")) {
    const name = row.querySelector(".sweep-name").value;
    const values = row.querySelector(".sweep-values").value.trim();
    if (name && values) texts[name] = values;
  }
  return texts;
}

function showSliders() {
  const network = state.networks.find((item) => item.path === $("network-pick").value);
  const names = network ? network.styles : [];
  $("style-sliders").replaceChildren(...(names.length > 1 ? names : []).map((name, index) => {
    const slider = element("input", {type: "range", min: "0", max: "1", step: "0.05", value: index ? "0" : "1"});
    slider.addEventListener("input", fastChanged);
    return element("label", {}, element("span", {text: name}), slider);
  }));
}

function fastRequest() {
  const sliders = [...$("style-sliders").querySelectorAll("input")];
  return {mode: "fast", content: state.photo, network: $("network-pick").value, settings: settingsText(),
          style_weights: sliders.length ? sliders.map((slider) => Number(slider.value)) : null};
}

function fastChanged() {
  // In the fast mode a result takes about a second: a change of the sliders runs it again.
  if (state.mode !== "fast" || !state.photo || !$("network-pick").value) return;
  if (state.fastPending) { state.fastDirty = true; return; }
  state.fastPending = true;
  state.fastDirty = false;
  post("/api/jobs", fastRequest()).catch((err) => { state.fastPending = false; say(err.message); });
}

function setMode(mode) {
  state.mode = mode;
  for (const box of document.querySelectorAll(".mode-options")) box.hidden = box.dataset.mode !== mode;
  $("start").textContent = {stylize: "Start", sweep: "Start the sweep", fast: "Run the network"}[mode];
}

async function start() {
  say("");
  const request = state.mode === "fast" ? fastRequest() :
    {mode: state.mode, content: state.photo, styles: state.styles, settings: settingsText(), sweep: sweepTexts()};
  try {
    await post("/api/jobs", request);
    if (state.mode === "fast") state.fastPending = true;
  } catch (err) { say(err.message); }
}

// ---- the run: events ----

function watch(event) {
  state.watching = event.job;
  state.losses = [];
  $("run-title").textContent = `job ${event.job}: ${event.title || ""}`;
  $("facts").replaceChildren();
  $("grid").replaceChildren();
  $("download").hidden = true;
  drawLosses();
}

function fact(name, value) {
  let row = [...$("facts").children].find((node) => node.dataset.name === name);
  if (!row) {
    row = element("div", {"data-name": name}, element("dt", {text: name}), element("dd"));
    $("facts").append(row);
  }
  row.lastChild.textContent = value;
}

function showIterate(event) {
  const source = (cell) => `/api/jobs/${event.job}/iterate/${cell}.jpg?n=${event.seq}`;
  if (event.cells.length === 1 && event.cells[0] === 0 && !event.batches) {
    $("iterate").src = source(0);
    $("iterate").hidden = false;
  } else {
    $("iterate").hidden = true;
    $("grid").style.gridTemplateColumns = `repeat(${event.columns}, minmax(0, 1fr))`;
    for (const cell of event.cells) gridCell(cell).querySelector("img").src = source(cell);
  }
  fact("step", `${event.step} / ${event.total}` + (event.batches ? ` (batch ${event.batch} of ${event.batches})` : ""));
  if (event.loss !== null) {
    fact("loss", event.loss.toPrecision(4));
    state.losses.push([event.step + (event.batch || 0) * event.total, event.loss]);
    drawLosses();
  }
  fact("time left", event.seconds_left === 0 ? "none" : `about ${duration(event.seconds_left)}`);
}

function gridCell(index) {
  const grid = $("grid");
  while (grid.children.length <= index) {
    grid.append(element("figure", {}, element("img", {alt: ""}), element("figcaption")));
  }
  return grid.children[index];
}

function drawLosses() {
  const canvas = $("loss-curve");
  const context = canvas.getContext("2d");
  context.clearRect(0, 0, canvas.width, canvas.height);
  canvas.hidden = state.losses.length < 2;
  if (canvas.hidden) return;
  const xs = state.losses.map((point) => point[0]);
  const ys = state.losses.map((point) => Math.log(Math.max(point[1], 1e-12)));
  const [x0, x1, y0, y1] = [Math.min(...xs), Math.max(...xs), Math.min(...ys), Math.max(...ys)];
  const pad = 6;
  context.strokeStyle = "#b5532a";
  context.lineWidth = 2;
  context.beginPath();
  state.losses.forEach((_, index) => {
    const x = pad + (xs[index] - x0) / Math.max(x1 - x0, 1e-9) * (canvas.width - 2 * pad);
    const y = pad + (y1 - ys[index]) / Math.max(y1 - y0, 1e-9) * (canvas.height - 2 * pad);
    if (index) context.lineTo(x, y); else context.moveTo(x, y);
  });
  context.stroke();
  context.fillStyle = "#555";
  context.fillText("loss (log scale)", pad, canvas.height - pad);
}

function finished(event) {
  const result = event.result;
  if (result && result.image) {
    $("download").href = file(result.image, true);
    $("download").hidden = false;
    if (result.mode !== "sweep") { $("iterate").src = file(result.image); $("iterate").hidden = false; }
  }
  fact("state", event.kind === "stopped" ? `stopped at step ${result.steps} of ${result.total_steps}` : event.kind);
  if (result && result.seconds !== undefined) fact("time", duration(result.seconds));
}

function handle(event) {
  const job = state.jobs.get(event.job) || {id: event.job, title: event.title};
  if (event.job) state.jobs.set(event.job, job);
  if (["queued", "started", "paused", "resumed", "done", "stopped", "failed", "cancelled"].includes(event.kind)) {
    job.state = {started: "running", resumed: "running"}[event.kind] || event.kind;
    job.position = event.position;
    job.title = event.title || job.title;
    job.mode = event.mode || job.mode;
    showQueue();
  }
  if (event.kind === "reset") { refresh(); return; }
  if (event.kind === "started") watch(event);
  if (event.job !== state.watching) return;
  if (event.kind === "iterate") showIterate(event);
  else if (event.kind === "weights") fact("network", `${event.network} · ${event.weights}`);
  else if (event.kind === "precision") fact("precision", event.precision);
  else if (event.kind === "tiles" || event.kind === "note") fact(event.kind, event.message);
  else if (event.kind === "cell") {
    gridCell(event.index).querySelector("img").src = file(event.image);
    gridCell(event.index).querySelector("figcaption").textContent = event.label;
  } else if (["done", "stopped"].includes(event.kind)) { finished(event); refresh(); }
  else if (event.kind === "failed") { fact("state", "failed"); say(`job ${event.job}: ${event.message}`); }
  if (["done", "stopped", "failed"].includes(event.kind) && job.mode === "fast") fastFinished();
  showControls();
}

function fastFinished() {
  state.fastPending = false;
  if (state.fastDirty) fastChanged();
}

function showControls() {
  const job = state.jobs.get(state.watching);
  const live = job && ["running", "paused"].includes(job.state);
  $("pause").disabled = !live || job.state === "paused";
  $("resume").disabled = !live || job.state !== "paused";
  $("stop").disabled = !live;
  if (live) fact("state", job.state);
}

function showQueue() {
  const waiting = [...state.jobs.values()].filter((job) => ["queued", "running", "paused"].includes(job.state));
  $("queue").replaceChildren(...waiting.map((job) => {
    const cancel = element("button", {type: "button", text: job.state === "queued" ? "Cancel" : "Stop"});
    cancel.addEventListener("click", () => post(`/api/jobs/${job.id}/${job.state === "queued" ? "cancel" : "stop"}`)
      .catch((err) => say(err.message)));
    const ahead = job.position === 1 ? "next" : `${job.position - 1} ahead`;
    const where = job.state === "queued" ? `waiting (${ahead})` : job.state;
    return element("li", {}, `job ${job.id}: ${job.title || ""} — ${where} `, cancel);
  }));
  if (!waiting.length) $("queue").append(element("li", {class: "muted", text: "nothing running or waiting"}));
}

// ---- the gallery ----

function describe(record) {
  const given = Object.entries(record.given || {}).map(([name, value]) => `${name} ${value}`).join(", ");
  const inputs = record.mode === "fast" ? `${record.content} through ${record.network_file}` :
    `${record.content} + ${(record.styles || []).join(", ")}`;
  return [`${record.mode}: ${inputs}`, given || "default settings",
          [record.network, record.precision, record.seconds !== undefined ? duration(record.seconds) : ""]
            .filter(Boolean).join(" · ") + (record.stopped ? " · stopped early" : "")];
}

function showGallery(records) {
  $("gallery-items").replaceChildren(...records.map((record) => {
    const link = element("a", {href: file(record.image, true), text: "Download"});
    const picture = element("a", {href: file(record.image), target: "_blank"},
                            element("img", {src: file(record.thumbnail || record.image), alt: record.id,
                                            loading: "lazy"}));
    return element("figure", {}, picture,
                   element("figcaption", {}, ...describe(record).map((line) => element("div", {text: line})), link));
  }));
}

// ---- start-up ----

async function refresh() {
  const found = await api("/api/state");
  state.maxUpload = found.max_upload;
  state.networks = found.networks;
  fillSelect($("photo-pick"), "…or pick a photo from the folder", found.pictures);
  fillSelect($("style-pick"), "…or add a painting from the folder", found.pictures);
  fillSelect($("network-pick"), found.networks.length ? "choose a network" : "no .keras network in the folder",
             found.networks.map((item) => item.path));
  for (const job of found.jobs) state.jobs.set(job.id, {...job, ...(state.jobs.get(job.id) || {}), state: job.state});
  showQueue();
  showGallery(found.gallery);
  return found.seq;
}

function connect(since) {
  const events = new EventSource(`/api/events?since=${since}`);
  events.onmessage = (message) => handle(JSON.parse(message.data));
  events.onopen = () => { $("connection").textContent = ""; };
  events.onerror = () => { $("connection").textContent = "reconnecting to the studio…"; };
}

function wire() {
  wireDrop($("photo-drop"), $("photo-file"), true);
  wireDrop($("style-drop"), $("style-file"), false);
  $("photo-pick").addEventListener("change", (event) => event.target.value && setPhoto(event.target.value));
  $("style-pick").addEventListener("change", (event) => {
    if (event.target.value) { state.styles.push(event.target.value); showStyles(); }
    event.target.value = "";
  });
  $("network-pick").addEventListener("change", () => { showSliders(); fastChanged(); });
  for (const radio of document.querySelectorAll("input[name=mode]")) {
    radio.addEventListener("change", () => setMode(radio.value));
  }
  $("start").addEventListener("click", start);
  for (const action of ["pause", "resume", "stop"]) {
    $(action).addEventListener("click", () => post(`/api/jobs/${state.watching}/${action}`)
      .catch((err) => say(err.message)));
  }
}

async function main() {
  wire();
  try {
    await buildForm();
    const since = await refresh();
    const running = [...state.jobs.values()].find((job) => ["running", "paused"].includes(job.state));
    connect(running ? 0 : since);  // a job already running: replay its events
    document.body.dataset.ready = "true";
  } catch (err) { say(`the studio did not answer: ${err.message}`); }
}

main();

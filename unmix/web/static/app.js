// unmix's page: upload a song, follow its job, listen to and download the stems.
// Plain JavaScript, no build step. Job cards are created once and then updated in place,
// so polling never restarts a player. Text from the server is set with textContent only.
"use strict";

const state = { options: null, cards: new Map(), timer: null, context: null };
const $ = (selector, root = document) => root.querySelector(selector);

function showMessage(text, kind = "error") {
  const box = $("#message");
  box.textContent = text;
  box.className = "message" + (kind === "info" ? " info" : "");
  box.hidden = !text;
}

function formatSeconds(seconds) {
  const whole = Math.round(seconds || 0);
  return `${Math.floor(whole / 60)}:${String(whole % 60).padStart(2, "0")}`;
}

// === Options: models and formats ===
async function loadOptions() {
  const response = await fetch("/api/options");
  state.options = await response.json();
  const models = $("#model");
  for (const model of state.options.models) {
    const option = document.createElement("option");
    option.value = model.name;
    let label = model.name;
    if (model.vocals_sdr !== null) label += ` (vocals ${model.vocals_sdr.toFixed(1)} dB, instrumental ${model.instrumental_sdr.toFixed(1)} dB)`;
    if (!model.offered) label += " (not installed)";
    option.textContent = label;
    option.disabled = !model.offered;
    option.selected = model.name === state.options.default_model;
    models.append(option);
  }
  for (const format of state.options.formats) {
    const option = document.createElement("option");
    option.value = option.textContent = format;
    $("#format").append(option);
  }
  models.addEventListener("change", describeModel);
  describeModel();
  $("#limits").textContent = `wav, flac, mp3, ogg, m4a, webm, opus, ... up to ${state.options.max_upload_mb} MB`;
}

function describeModel() {
  const model = state.options.models.find((m) => m.name === $("#model").value);
  if (!model) return;
  let text = model.description;
  if (model.real_time_factor) text += `; about ${Math.round(model.real_time_factor)}x real time on a 2-core CPU`;
  const missing = state.options.models.filter((m) => !m.offered).map((m) => `${m.name}: run ${m.install_command}`);
  if (missing.length) text += `. Not installed: ${missing.join("; ")}`;
  $("#model-info").textContent = text;
}

// === Upload ===
function upload(file) {
  if (!file) return;
  const limit = state.options.max_upload_mb * 1024 * 1024;
  if (file.size > limit) {
    showMessage(`${file.name} is larger than the limit of ${state.options.max_upload_mb} MB; choose a smaller file or start the server with a larger --max_upload_mb`);
    return;
  }
  const form = new FormData();
  form.append("model", $("#model").value);
  form.append("format", $("#format").value);
  form.append("file", file, file.name);
  const request = new XMLHttpRequest();
  request.open("POST", "/api/jobs");
  request.upload.onprogress = (event) => {
    if (event.lengthComputable) showMessage(`Uploading ${file.name}: ${Math.floor((100 * event.loaded) / event.total)} %`, "info");
  };
  request.onload = () => {
    let body = {};
    try { body = JSON.parse(request.responseText); } catch (error) { body = {}; }
    if (request.status === 201) {
      showMessage("");
      render([body], { prepend: true });
      schedule(300);
    } else {
      showMessage(`${file.name}: ${body.error || `the server answered ${request.status}`}`);
    }
  };
  request.onerror = () => showMessage(`${file.name}: the upload failed (is the server still running?)`);
  showMessage(`Uploading ${file.name}`, "info");
  request.send(form);
}

function setUpDropZone() {
  const zone = $("#drop");
  const input = $("#file");
  zone.addEventListener("click", () => input.click());
  zone.addEventListener("keydown", (event) => { if (event.key === "Enter" || event.key === " ") { event.preventDefault(); input.click(); } });
  input.addEventListener("change", () => { upload(input.files[0]); input.value = ""; });
  for (const name of ["dragenter", "dragover"]) {
    zone.addEventListener(name, (event) => { event.preventDefault(); zone.classList.add("over"); });
  }
  for (const name of ["dragleave", "drop"]) {
    zone.addEventListener(name, (event) => { event.preventDefault(); zone.classList.remove("over"); });
  }
  zone.addEventListener("drop", (event) => {
    const files = event.dataTransfer ? Array.from(event.dataTransfer.files) : [];
    if (!files.length) { showMessage("nothing to upload: drop an audio file"); return; }
    files.forEach(upload);
  });
  // A file dropped beside the zone would make the browser open it and leave the page.
  window.addEventListener("dragover", (event) => event.preventDefault());
  window.addEventListener("drop", (event) => event.preventDefault());
}

// === Jobs ===
function statusText(job) {
  if (job.state === "queued") return job.position === 1 ? "Queued: next to run" : `Queued: ${job.position - 1} ahead`;
  if (job.state === "running") return job.progress >= 1 ? "Drawing the spectrogram" : `Separating: ${formatSeconds(job.progress * job.duration_s)} of ${formatSeconds(job.duration_s)}`;
  if (job.state === "done") return `Done in ${Math.max(1, Math.round(job.finished - job.started))} s`;
  return job.error || "failed";
}

function createCard(job) {
  const card = $("#job-template").content.firstElementChild.cloneNode(true);
  card.dataset.id = job.id;
  $(".job-name", card).textContent = job.name;
  $(".job-meta", card).textContent = `${job.model} · ${job.format} · ${formatSeconds(job.duration_s)}`;
  return card;
}

function updateCard(card, job) {
  const percent = Math.round(100 * (job.state === "done" ? 1 : job.progress));
  card.className = `job ${job.state}`;
  $(".state", card).textContent = job.state;
  $(".state", card).className = `state ${job.state}`;
  $(".bar", card).setAttribute("aria-valuenow", String(percent));
  $(".fill", card).style.width = `${percent}%`;
  $(".percent", card).textContent = `${percent} %`;
  $(".status", card).textContent = job.note && job.state !== "failed" ? `${statusText(job)} · ${job.note}` : statusText(job);
  if (job.state === "done" && !card.dataset.result) showResult(card, job);
}

function showResult(card, job) {
  card.dataset.result = "shown";
  for (const stem of ["vocals", "instrumental"]) {
    const box = $(`.stem[data-stem="${stem}"]`, card);
    $("audio", box).src = job.stems[stem];
    $("a", box).href = job.stems[stem];
  }
  if (job.spectrogram) {
    $(".spectrogram", card).src = job.spectrogram;
    $(".picture", card).hidden = false;
  }
  new Mixer(card, job.stems);
  $(".result", card).hidden = false;
}

function render(jobs, { prepend = false } = {}) {
  const list = $("#jobs");
  for (const job of jobs) {
    let card = state.cards.get(job.id);
    if (!card) {
      card = createCard(job);
      state.cards.set(job.id, card);
      if (prepend) list.prepend(card); else list.append(card);
    }
    updateCard(card, job);
  }
  $("#no-jobs").hidden = state.cards.size > 0;
}

async function refresh() {
  let active = false;
  try {
    const response = await fetch("/api/jobs");
    const { jobs } = await response.json();
    // The server lists the newest first; cards it adds go below the ones already shown that are newer.
    const list = $("#jobs");
    jobs.forEach((job, index) => {
      render([job]);
      const card = state.cards.get(job.id);
      if (list.children[index] !== card) list.insertBefore(card, list.children[index] || null);
    });
    active = jobs.some((job) => job.state === "queued" || job.state === "running");
  } catch (error) {
    showMessage("cannot reach the server; retrying");
  }
  schedule(active ? 500 : 3000);
}

function schedule(milliseconds) {
  clearTimeout(state.timer);
  state.timer = setTimeout(refresh, milliseconds);
}

// === Karaoke mix: both stems through the Web Audio API, the vocals behind a gain ===
class Mixer {
  constructor(card, urls) {
    this.urls = urls;
    this.button = $(".mix-play", card);
    this.slider = $(".vocals-level", card);
    this.level = $(".level", card);
    this.status = $(".mix-status", card);
    this.buffers = null;
    this.sources = [];
    this.offset = 0;
    this.startedAt = 0;
    this.button.addEventListener("click", () => (this.sources.length ? this.pause() : this.play()));
    this.slider.addEventListener("input", () => this.setLevel());
  }

  context() {
    if (!state.context) state.context = new AudioContext();
    return state.context;
  }

  async load() {
    this.status.textContent = "loading the stems";
    const context = this.context();
    const decode = async (url) => context.decodeAudioData(await (await fetch(url)).arrayBuffer());
    this.buffers = { vocals: await decode(this.urls.vocals), instrumental: await decode(this.urls.instrumental) };
  }

  async play() {
    try {
      if (!this.buffers) await this.load();
    } catch (error) {
      this.status.textContent = `cannot play the mix here: ${error.message}`;
      return;
    }
    const context = this.context();
    await context.resume();
    if (this.offset >= this.buffers.vocals.duration) this.offset = 0;
    this.vocalsGain = context.createGain();
    this.vocalsGain.connect(context.destination);
    this.vocalsGain.gain.value = Number(this.slider.value) / 100;
    this.sources = ["vocals", "instrumental"].map((stem) => {
      const source = context.createBufferSource();
      source.buffer = this.buffers[stem];
      source.connect(stem === "vocals" ? this.vocalsGain : context.destination);
      return source;
    });
    this.sources[1].onended = () => { if (this.sources.length && this.elapsed() >= this.buffers.vocals.duration - 0.05) this.stop(0); };
    const when = context.currentTime + 0.05;
    this.sources.forEach((source) => source.start(when, this.offset));
    this.startedAt = when;
    this.button.textContent = "Pause mix";
    this.status.textContent = "playing";
  }

  elapsed() {
    return this.offset + Math.max(0, this.context().currentTime - this.startedAt);
  }

  pause() {
    this.stop(this.elapsed());
  }

  stop(offset) {
    const sources = this.sources;
    this.sources = [];
    sources.forEach((source) => { source.onended = null; source.stop(); });
    this.offset = offset;
    this.button.textContent = "Play mix";
    this.status.textContent = offset ? `paused at ${formatSeconds(offset)}` : "";
  }

  setLevel() {
    const value = Number(this.slider.value) / 100;
    this.level.textContent = `${this.slider.value} %`;
    if (this.vocalsGain) this.vocalsGain.gain.setTargetAtTime(value, this.context().currentTime, 0.02);
  }
}

loadOptions().then(() => { setUpDropZone(); refresh(); }).catch(() => showMessage("cannot reach the server; reload the page"));

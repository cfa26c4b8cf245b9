// Shared by every page: fetch() helpers that send the CSRF token, and small page behaviours
// wired by data attributes (no inline scripts: the Content-Security-Policy forbids them).
"use strict";

function csrfToken() {
  const meta = document.querySelector('meta[name="csrf-token"]');
  return meta ? meta.content : "";
}

async function api(method, url, body) {
  const options = { method, headers: { "X-CSRF-Token": csrfToken() }, credentials: "same-origin" };
  if (body !== undefined) {
    options.headers["Content-Type"] = "application/json";
    options.body = JSON.stringify(body);
  }
  const response = await fetch(url, options);
  const data = response.headers.get("content-type")?.includes("json") ? await response.json() : await response.text();
  if (!response.ok) throw Object.assign(new Error(data.detail || response.statusText), { status: response.status, data });
  return data;
}

// <textarea data-count="id-of-output" data-limit="2000">: a live character count.
function wireCounters() {
  for (const area of document.querySelectorAll("textarea[data-count]")) {
    const out = document.getElementById(area.dataset.count);
    const limit = Number(area.dataset.limit || 2000);
    const update = () => {
      out.textContent = `${area.value.length} / ${limit} ký tự`;
      out.classList.toggle("error", area.value.length > limit);
    };
    area.addEventListener("input", update);
    update();
  }
}

document.addEventListener("DOMContentLoaded", wireCounters);
window.troly = { api, csrfToken };

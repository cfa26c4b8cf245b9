// The public web chat: posts the villager's messages and polls the bot's replies from /webchat/messages.
// Every text, the villager's and the bot's, is untrusted: it only ever goes through textContent.
"use strict";

const POLL_MS = 1000;
const HIDDEN_POLL_MS = 10000; // a tab in the background asks rarely
const MAX_BACKOFF = 30; // after errors, wait up to 30 polls
const STORE_KEY = "troly-web";
const KEEP = 200; // messages kept for a reload of this tab

const state = { after: 0, items: [], group: false, failures: 0, timer: 0, polling: false };
const $ = (id) => document.getElementById(id);

// sessionStorage keeps the conversation (the villager's own messages exist nowhere else) across a reload;
// it can be unavailable (private modes, blocked storage in frames): the chat then simply starts afresh.
function load() {
  try {
    const saved = JSON.parse(sessionStorage.getItem(STORE_KEY) || "null");
    if (saved && Array.isArray(saved.items)) Object.assign(state, { after: saved.after || 0, items: saved.items, group: !!saved.group });
  } catch { /* start afresh */ }
}

function save() {
  state.items = state.items.slice(-KEEP);
  try {
    sessionStorage.setItem(STORE_KEY, JSON.stringify({ after: state.after, items: state.items, group: state.group }));
  } catch { /* not kept: only a reload loses it */ }
}

function timeLabel(iso) {
  return new Date(iso).toLocaleTimeString("vi-VN", { hour: "2-digit", minute: "2-digit" });
}

function bubble(item) {
  const li = document.createElement("li");
  li.className = `msg ${item.who}`;
  const text = document.createElement("div");
  text.className = "text";
  if (item.mention) {
    // In a group the bot addresses the asker, as the Zalo mention "@Tên" does.
    const at = document.createElement("span");
    at.className = "mention";
    at.textContent = "@Bạn ";
    text.append(at);
  }
  text.append(document.createTextNode(item.text));
  const meta = document.createElement("div");
  meta.className = "meta";
  meta.textContent = `${item.who === "me" ? "Bạn" : "Trợ lý số"} · ${timeLabel(item.at)}`;
  li.append(text, meta);
  return li;
}

function render(item) {
  const li = bubble(item);
  $(item.group ? "messages-group" : "messages-private").append(li);
  if (item.group !== state.group) $("group-mode").parentElement.classList.add("unread");
  const log = $("log");
  log.scrollTop = log.scrollHeight;
  return li;
}

function setStatus(text) {
  $("status").textContent = text;
  $("status").hidden = !text;
}

function setGroup(group) {
  state.group = group;
  $("group-mode").checked = group;
  $("group-mode").parentElement.classList.remove("unread");
  $("messages-private").hidden = group;
  $("messages-group").hidden = !group;
  $("group-note").hidden = !group;
  const sub = $("chat-sub");
  sub.textContent = group ? sub.dataset.group : sub.dataset.private;
  document.body.classList.toggle("group-mode", group);
  $("log").scrollTop = $("log").scrollHeight;
}

async function send(raw) {
  const text = raw.trim();
  if (!text) return;
  const item = { who: "me", text, group: state.group, at: new Date().toISOString() };
  const li = render(item);
  state.items.push(item);
  save();
  setStatus("");
  try {
    const response = await fetch("/webchat/messages", {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ text, group: item.group }),
    });
    if (!response.ok) {
      const data = await response.json().catch(() => ({}));
      throw new Error(typeof data.detail === "string" ? data.detail : "Chưa gửi được, hãy thử lại.");
    }
    schedule(300); // the worker answers within a moment
  } catch (error) {
    li.classList.add("failed");
    state.items = state.items.filter((x) => x !== item);
    save();
    setStatus(error instanceof TypeError ? "Không kết nối được máy chủ, hãy thử lại." : error.message);
    if (!$("text").value) $("text").value = text; // give the text back to try again
  }
}

async function poll() {
  if (state.polling) return;
  state.polling = true;
  try {
    const response = await fetch(`/webchat/messages?after=${state.after}`, { credentials: "same-origin" });
    if (!response.ok) throw new Error(String(response.status));
    for (const m of await response.json()) {
      if (m.id <= state.after) continue;
      state.after = m.id;
      const item = { who: "bot", text: String(m.text), group: !!m.group, mention: !!m.mention, at: m.at };
      render(item);
      state.items.push(item);
    }
    save();
    state.failures = 0;
  } catch {
    state.failures += 1;
  } finally {
    state.polling = false;
    schedule();
  }
}

function schedule(delay) {
  clearTimeout(state.timer);
  const wait = document.hidden ? HIDDEN_POLL_MS : POLL_MS * Math.min(2 ** state.failures, MAX_BACKOFF);
  state.timer = setTimeout(poll, delay ?? wait);
}

function wire() {
  const form = $("composer");
  const input = $("text");
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const text = input.value;
    input.value = "";
    send(text);
  });
  input.addEventListener("keydown", (event) => {
    // Enter sends, Shift+Enter is a new line; never while a Vietnamese input method is composing a letter.
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      form.requestSubmit();
    }
  });
  for (const button of document.querySelectorAll("button.example")) {
    button.addEventListener("click", () => send(button.dataset.text));
  }
  $("group-mode").addEventListener("change", (event) => {
    setGroup(event.target.checked);
    save();
  });
  document.addEventListener("visibilitychange", () => schedule(document.hidden ? undefined : 0));
}

function start() {
  load();
  for (const item of state.items) render(item);
  setGroup(state.group);
  wire();
  poll();
}

document.addEventListener("DOMContentLoaded", start);

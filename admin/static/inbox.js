// Inbox, suggestions and statistics pages: a filter applies when it changes, an FAQ entry's answer is
// previewed before it is sent, and a form is sent once (a double tap on a phone must not answer twice).
"use strict";

function wireAutosubmit() {
  for (const select of document.querySelectorAll("select[data-autosubmit]")) {
    select.addEventListener("change", () => select.form.submit());
  }
}

function wirePreview() {
  for (const select of document.querySelectorAll("select[data-preview]")) {
    const out = document.getElementById(select.dataset.preview);
    select.addEventListener("change", async () => {
      const wanted = select.value;
      out.hidden = !wanted;
      if (!wanted) return;
      out.textContent = "Đang tải câu trả lời…";
      try {
        const entry = await window.troly.api("GET", `/admin/inbox/entries/${encodeURIComponent(wanted)}`);
        // textContent, never innerHTML: entries are text. A slower answer for an earlier choice is dropped.
        if (select.value === wanted) out.textContent = `Bot sẽ gửi:\n${entry.answer}`;
      } catch (error) {
        out.textContent = `Không xem trước được: ${error.message}`;
      }
    });
  }
}

function wireOnce() {
  for (const form of document.querySelectorAll("form[data-once]")) {
    form.addEventListener("submit", () => {
      for (const button of form.querySelectorAll("button[type=submit]")) button.disabled = true;
    });
  }
}

document.addEventListener("DOMContentLoaded", () => {
  wireAutosubmit();
  wirePreview();
  wireOnce();
});

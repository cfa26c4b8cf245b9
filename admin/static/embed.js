// Trợ lý số on a commune's website: <script src="https://TROLY-HOST/embed.js" async></script>
// adds a floating button that opens the chat (TROLY-HOST/?embed=1) in a frame. No dependencies;
// styles are set through element.style, which the host page's own CSP permits.
(function () {
  "use strict";
  var script = document.currentScript;
  if (!script || window.trolyEmbed) return;
  window.trolyEmbed = true;
  var origin = new URL(script.src).origin;

  function style(element, rules) {
    for (var name in rules) element.style[name] = rules[name];
  }

  function mount() {
    var button = document.createElement("button");
    button.type = "button";
    button.textContent = "Hỏi Trợ lý số";
    button.setAttribute("aria-expanded", "false");
    style(button, {
      position: "fixed", right: "16px", bottom: "16px", zIndex: "2147483000", padding: "12px 18px",
      border: "0", borderRadius: "999px", background: "#0b5394", color: "#fff", font: "600 16px system-ui, sans-serif",
      boxShadow: "0 4px 14px rgba(0,0,0,.25)", cursor: "pointer"
    });
    var frame = null;

    button.addEventListener("click", function () {
      if (!frame) { // created on the first click: a visitor who never opens it loads nothing
        frame = document.createElement("iframe");
        frame.src = origin + "/?embed=1";
        frame.title = "Trợ lý số";
        style(frame, {
          position: "fixed", right: "16px", bottom: "76px", zIndex: "2147483000", width: "min(380px, calc(100vw - 32px))",
          height: "min(600px, calc(100vh - 100px))", border: "1px solid #dcdcde", borderRadius: "12px",
          background: "#fff", boxShadow: "0 8px 28px rgba(0,0,0,.3)"
        });
        document.body.appendChild(frame);
      } else {
        frame.style.display = frame.style.display === "none" ? "" : "none";
      }
      var open = frame.style.display !== "none";
      button.textContent = open ? "Đóng" : "Hỏi Trợ lý số";
      button.setAttribute("aria-expanded", String(open));
    });
    document.body.appendChild(button);
  }

  if (document.body) mount();
  else document.addEventListener("DOMContentLoaded", mount);
})();

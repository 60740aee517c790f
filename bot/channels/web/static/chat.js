// Web chat speaking the Rasa REST channel protocol (POST /webhooks/rest/webhook).
// No build step: plain browser JavaScript. Officer replies arrive by polling /webhooks/rest/poll.
(function () {
  "use strict";
  var log = document.getElementById("log");
  var form = document.getElementById("composer");
  var input = document.getElementById("text");
  var status = document.getElementById("status");
  var KEY = "helpline.sender";
  var sender = localStorage.getItem(KEY);
  var fresh = !sender;
  if (!sender) {
    sender = "web-" + Math.random().toString(36).slice(2) + Date.now().toString(36);
    localStorage.setItem(KEY, sender);
  }
  var lastSeen = 0;

  function linkify(text, node) {
    var re = /(https?:\/\/[^\s]+)/g, last = 0, m;
    while ((m = re.exec(text)) !== null) {
      node.appendChild(document.createTextNode(text.slice(last, m.index)));
      var a = document.createElement("a");
      a.href = m[1]; a.textContent = m[1]; a.target = "_blank"; a.rel = "noopener";
      node.appendChild(a);
      last = m.index + m[1].length;
    }
    node.appendChild(document.createTextNode(text.slice(last)));
  }

  function add(who, text, buttons) {
    var li = document.createElement("li");
    li.className = "msg msg--" + who;
    var label = document.createElement("span");
    label.className = "msg__who";
    label.textContent = who === "user" ? "Bạn" : (who === "officer" ? "Cán bộ" : "Trợ lý");
    li.appendChild(label);
    var bubble = document.createElement("div");
    bubble.className = "msg__bubble";
    linkify(text || "", bubble);
    li.appendChild(bubble);
    if (buttons && buttons.length) {
      var row = document.createElement("div");
      row.className = "msg__buttons";
      buttons.forEach(function (b) {
        var btn = document.createElement("button");
        btn.type = "button";
        btn.textContent = b.title;
        btn.addEventListener("click", function () { send(b.payload, b.title); });
        row.appendChild(btn);
      });
      li.appendChild(row);
    }
    log.appendChild(li);
    li.scrollIntoView({ block: "end" });
  }

  function show(replies) {
    (replies || []).forEach(function (r) {
      var who = r.custom && r.custom.sender === "officer" ? "officer" : "bot";
      add(who, r.text, r.buttons);
      if (r.custom && r.custom.seq) { lastSeen = Math.max(lastSeen, r.custom.seq); }
    });
  }

  function send(message, shown) {
    if (shown !== null) { add("user", shown || message); }
    status.textContent = "";
    return fetch("/webhooks/rest/webhook", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ sender: sender, message: message })
    }).then(function (res) {
      if (!res.ok) { throw new Error(res.status); }
      return res.json();
    }).then(show).catch(function () {
      status.textContent = "Không gửi được tin nhắn. Vui lòng kiểm tra mạng và thử lại.";
    });
  }

  function poll() {
    fetch("/webhooks/rest/poll?sender=" + encodeURIComponent(sender) + "&after=" + lastSeen)
      .then(function (res) { return res.ok ? res.json() : []; })
      .then(show)
      .catch(function () {})
      .then(function () { setTimeout(poll, 2000); });
  }

  form.addEventListener("submit", function (e) {
    e.preventDefault();
    var text = input.value.trim();
    if (!text) { return; }
    input.value = "";
    send(text, text);
  });

  window.helplineChat = { sender: sender, send: send };
  send("/start", null).then(function () { setTimeout(poll, 2000); });
  void fresh;
})();

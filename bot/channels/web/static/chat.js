// Web chat speaking the Rasa REST channel protocol (POST /webhooks/rest/webhook).
// No build step: plain browser JavaScript. The server gives the page its session (an HttpOnly cookie):
// the page never names its sender. On load it restores the conversation (GET /webhooks/rest/history);
// officers' replies arrive by polling /webhooks/rest/poll.
(function () {
  "use strict";
  var log = document.getElementById("log");
  var form = document.getElementById("composer");
  var input = document.getElementById("text");
  var sendButton = document.getElementById("send");
  var status = document.getElementById("status");
  var lastSeen = 0;
  var sending = false;
  var typing = null;
  var polling = false;

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

  // Show `item` (the newest message): all of it when it fits in the log, else its beginning.
  function reveal(item) {
    if (!item) { return; }
    if (item.offsetHeight + 16 <= log.clientHeight) {
      log.scrollTop = log.scrollHeight;
    } else {
      log.scrollTop = item.offsetTop - 8;
    }
  }

  function newest() {
    return log.lastElementChild;
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
        btn.addEventListener("click", function () { say(b.payload, b.title, false); });
        row.appendChild(btn);
      });
      li.appendChild(row);
    }
    log.insertBefore(li, typing && typing.parentNode === log ? typing : null);
    return li;
  }

  function who(r) {
    var sender = r.custom && r.custom.sender;
    return sender === "officer" || sender === "user" ? sender : "bot";
  }

  function show(replies, advance) {
    (replies || []).forEach(function (r) {
      if (!r.text && !(r.buttons && r.buttons.length)) { return; }
      var li = add(who(r), r.text, r.buttons);
      if (who(r) === "user") { setState(li, "sent"); }
      if (advance && r.custom && r.custom.seq) { lastSeen = Math.max(lastSeen, r.custom.seq); }
    });
    reveal(newest());
  }

  // A citizen's message shows whether it reached the server: "Đang gửi…", "Đã gửi", or failed with a
  // retry next to it that sends the same text again.
  function setState(li, state, retry) {
    var line = li.querySelector(".msg__state");
    if (!line) {
      line = document.createElement("div");
      line.className = "msg__state";
      li.appendChild(line);
    }
    line.textContent = "";
    li.classList.toggle("msg--failed", state === "failed");
    li.dataset.state = state;
    var note = document.createElement("span");
    note.textContent = state === "sending" ? "Đang gửi…" : (state === "sent" ? "Đã gửi" : "Chưa gửi được.");
    line.appendChild(note);
    if (state === "failed") {
      var btn = document.createElement("button");
      btn.type = "button";
      btn.className = "msg__retry";
      btn.textContent = "Gửi lại";
      btn.setAttribute("aria-label", "Gửi lại tin nhắn: " + li.querySelector(".msg__bubble").textContent);
      btn.addEventListener("click", retry);
      line.appendChild(btn);
    }
  }

  function setTyping(on) {
    if (on && !typing) {
      typing = document.createElement("li");
      typing.className = "msg msg--typing";
      var bubble = document.createElement("div");
      bubble.className = "msg__bubble";
      for (var i = 0; i < 3; i++) {
        var dot = document.createElement("span");
        dot.className = "dot";
        dot.setAttribute("aria-hidden", "true");
        bubble.appendChild(dot);
      }
      var words = document.createElement("span");
      words.className = "visually-hidden";
      words.textContent = "Trợ lý đang trả lời…";
      bubble.appendChild(words);
      typing.appendChild(bubble);
      log.appendChild(typing);
      reveal(typing);
    } else if (!on && typing) {
      typing.remove();
      typing = null;
    }
  }

  function setStatus(text, action, label) {
    status.textContent = "";
    status.hidden = !text;
    if (!text) { return; }
    var words = document.createElement("span");
    words.textContent = text;
    status.appendChild(words);
    if (action) {
      var btn = document.createElement("button");
      btn.type = "button";
      btn.textContent = label;
      btn.addEventListener("click", action);
      status.appendChild(btn);
    }
  }

  function newId() {
    return "w" + Date.now().toString(36) + Math.random().toString(36).slice(2, 10);
  }

  // Sends `message` (a typed text or a button's payload); `title` is what the citizen sees for it
  // (null: nothing, e.g. the greeting's /start). `keepFocus`: the input keeps the phone's keyboard open.
  function say(message, title, keepFocus) {
    if (sending) { return false; }
    var li = title === null ? null : add("user", title);
    post(li, { message: message, title: title === message ? null : title, message_id: newId() }, keepFocus);
    return true;
  }

  function post(li, body, keepFocus) {
    sending = true;
    sendButton.disabled = true;
    if (li) { setState(li, "sending"); }
    setTyping(true);
    reveal(typing);
    return fetch("/webhooks/rest/webhook", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      credentials: "same-origin",
      body: JSON.stringify(body)
    }).then(function (res) {
      if (!res.ok) { throw new Error(String(res.status)); }
      return res.json();
    }).then(function (replies) {
      finish(keepFocus);
      if (li) { setState(li, "sent"); }
      setStatus("");
      show(replies, false);
    }).catch(function () {
      finish(keepFocus);
      // the same message id, marked as a resend: the server answers it once, whether or not the first
      // try reached it
      var again = function () { post(li, Object.assign({}, body, { resend: true }), false); };
      if (li) {
        setState(li, "failed", again);
        reveal(li);
      } else {
        setStatus("Chưa kết nối được với trợ lý.", again, "Thử lại");
      }
    });
  }

  function finish(keepFocus) {
    sending = false;
    sendButton.disabled = false;
    setTyping(false);
    if (keepFocus) { input.focus(); }
  }

  function poll() {
    fetch("/webhooks/rest/poll?after=" + lastSeen, { credentials: "same-origin" })
      .then(function (res) { return res.ok ? res.json() : []; })
      .then(function (replies) { show(replies, true); })
      .catch(function () {})
      .then(function () { setTimeout(poll, 2000); });
  }

  // The conversation so far, from the server (a reload shows what the citizen saw); a new one starts
  // with the greeting.
  function start() {
    setStatus("");
    return fetch("/webhooks/rest/history", { credentials: "same-origin" })
      .then(function (res) {
        if (!res.ok) { throw new Error(String(res.status)); }
        return res.json();
      }).then(function (data) {
        log.textContent = "";
        lastSeen = data.after || 0;
        show(data.messages, false);
        if (!data.messages || !data.messages.length) { say("/start", null, false); }
        if (!polling) { polling = true; setTimeout(poll, 2000); }
      }).catch(function () {
        setStatus("Chưa tải được cuộc trò chuyện.", start, "Thử lại");
      });
  }

  // Tapping Send must not take the focus from the input (that closes a phone's keyboard).
  sendButton.addEventListener("pointerdown", function (e) {
    if (document.activeElement === input) { e.preventDefault(); }
  });

  form.addEventListener("submit", function (e) {
    e.preventDefault();
    var text = input.value.trim();
    if (!text || sending) { return; }
    if (say(text, text, true)) { input.value = ""; }
    input.focus();
  });

  var wasAtBottom = true;
  log.addEventListener("scroll", function () {
    wasAtBottom = log.scrollHeight - log.scrollTop - log.clientHeight < 24;
  });
  window.addEventListener("resize", function () {  // the phone keyboard opening shrinks the log
    if (wasAtBottom) { reveal(newest()); }
  });

  window.helplineChat = { say: say, reload: start };
  start();
})();

// Officer console: live inbox and ticket page by polling the JSON API. No build step, no framework.
(function () {
  "use strict";
  var POLL_MS = 3000;
  var body = document.body;
  var page = body.getAttribute("data-page");
  var csrf = document.querySelector('meta[name="csrf-token"]').getAttribute("content");
  var REASONS = {
    request_human: "Người dân muốn gặp cán bộ",
    repeated_fallback: "Trợ lý ảo không hiểu câu hỏi",
    negative_rating: "Người dân chấm điểm thấp"
  };
  var SENDERS = { citizen: "Người dân", officer: "Cán bộ", bot: "Trợ lý ảo" };
  var baseTitle = document.title.replace(/^\(\d+\)\s*/, "");
  var seenNewest = null;

  function el(tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) { node.className = cls; }
    if (text !== undefined && text !== null) { node.textContent = text; }
    return node;
  }

  function when(iso) {
    if (!iso) { return ""; }
    var d = new Date(iso);
    return d.toLocaleTimeString("vi-VN", { hour: "2-digit", minute: "2-digit", timeZone: "Asia/Ho_Chi_Minh" }) +
      " " + d.toLocaleDateString("vi-VN", { timeZone: "Asia/Ho_Chi_Minh" });
  }

  function getJSON(url) {
    return fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (res) {
        if (res.status === 401) { window.location.href = "/console/login"; throw new Error("401"); }
        if (!res.ok) { throw new Error(String(res.status)); }
        return res.json();
      });
  }

  function post(url, data) {
    return fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
      body: JSON.stringify(data || {})
    });
  }

  // --- new-ticket signal: title counter, badge, optional desktop notification ---------------------
  var badge = document.getElementById("new-badge");
  var notifyButton = document.getElementById("notify");
  if (notifyButton && "Notification" in window && Notification.permission === "default") {
    notifyButton.hidden = false;
    notifyButton.addEventListener("click", function () {
      Notification.requestPermission().then(function () { notifyButton.hidden = true; });
    });
  }

  function summary() {
    return getJSON("/api/tickets/summary").then(function (s) {
      document.title = (s.waiting > 0 ? "(" + s.waiting + ") " : "") + baseTitle;
      Array.prototype.forEach.call(document.querySelectorAll("[data-count]"), function (node) {
        var key = node.getAttribute("data-count");
        if (key in s) { node.textContent = s[key]; }
      });
      if (seenNewest !== null && s.newest_waiting_id !== null && s.newest_waiting_id > seenNewest) {
        if (badge) { badge.hidden = false; }
        if ("Notification" in window && Notification.permission === "granted") {
          try { new Notification("Có yêu cầu mới", { body: "Đang có " + s.waiting + " người dân chờ cán bộ." }); }
          catch (e) { /* some browsers only allow notifications from a service worker */ }
        }
      }
      if (s.newest_waiting_id !== null) { seenNewest = Math.max(seenNewest || 0, s.newest_waiting_id); }
      return s;
    });
  }
  if (badge) {
    badge.addEventListener("click", function () { badge.hidden = true; window.location.href = "/console?tab=waiting"; });
  }

  // --- inbox ------------------------------------------------------------------------------------
  function renderTickets(list) {
    var ul = document.getElementById("tickets");
    var empty = document.getElementById("empty");
    ul.textContent = "";
    empty.hidden = list.length > 0;
    list.forEach(function (t) {
      var li = el("li", "ticket ticket--" + t.status);
      li.setAttribute("data-id", t.id);
      var a = el("a");
      a.href = "/console/tickets/" + t.id;
      a.appendChild(el("span", "ticket__id", "#" + t.id));
      a.appendChild(el("span", "ticket__reason", REASONS[t.reason] || t.reason));
      if (t.position) { a.appendChild(el("span", "ticket__pos", "vị trí " + t.position)); }
      if (t.owner_name) { a.appendChild(el("span", "ticket__owner", t.owner_name)); }
      if (t.undelivered) { a.appendChild(el("span", "undelivered", t.undelivered + " tin chưa gửi được")); }
      a.appendChild(el("span", "ticket__time", when(t.created_at)));
      a.appendChild(el("span", "ticket__text", t.last_text));
      li.appendChild(a);
      ul.appendChild(li);
    });
  }

  function pollInbox() {
    var tab = body.getAttribute("data-tab");
    var url = tab === "mine" ? "/api/tickets?status=claimed&mine=true" : "/api/tickets?status=" + tab;
    summary()
      .then(function () { return getJSON(url); })
      .then(renderTickets)
      .catch(function () {})
      .then(function () { setTimeout(pollInbox, POLL_MS); });
  }

  // --- ticket page ------------------------------------------------------------------------------
  function renderMessages(ticket, messages) {
    var ol = document.getElementById("messages");
    ol.textContent = "";
    messages.forEach(function (m) {
      var li = el("li", "message message--" + m.sender + (m.delivered ? "" : " message--undelivered"));
      li.setAttribute("data-id", m.id);
      li.appendChild(el("span", "message__who", (SENDERS[m.sender] || m.sender) + " · " + when(m.created_at)));
      li.appendChild(el("div", "message__text", m.display_text || m.text));
      if (!m.delivered) {
        var warn = el("div", "undelivered",
          "⚠ Người dân chưa nhận được tin này (đã thử gửi " + m.attempts + " lần). ");
        warn.setAttribute("role", "status");
        var retry = el("button", "link", "Gửi lại ngay");
        retry.type = "button";
        retry.addEventListener("click", function () {
          post("/api/tickets/" + ticket.id + "/messages/" + m.id + "/retry").then(pollTicketOnce);
        });
        warn.appendChild(retry);
        if (m.last_error) { warn.appendChild(el("span", "undelivered__error", "Lỗi kỹ thuật: " + m.last_error)); }
        li.appendChild(warn);
      }
      ol.appendChild(li);
    });
  }

  var lastMessages = null;
  function pollTicketOnce() {
    var id = body.getAttribute("data-ticket");
    return getJSON("/api/tickets/" + id).then(function (d) {
      var t = d.ticket;
      var typing = document.getElementById("reply-text");
      if (t.status !== body.getAttribute("data-status") ||
          String(t.owner_id || "") !== body.getAttribute("data-owner")) {
        if (!typing || !typing.value) { window.location.reload(); return; }
      }
      var sig = JSON.stringify(d.messages.map(function (m) { return [m.id, m.delivered, m.attempts]; }));
      if (sig !== lastMessages) {
        if (lastMessages !== null) { renderMessages(t, d.messages); }
        lastMessages = sig;
      }
    });
  }

  function pollTicket() {
    summary()
      .then(pollTicketOnce)
      .catch(function () {})
      .then(function () { setTimeout(pollTicket, POLL_MS); });
  }

  if (page === "inbox") { pollInbox(); }
  if (page === "ticket") { pollTicket(); }
  if (page === "ticket" || page === "inbox") {
    var messages = document.getElementById("messages");
    if (messages && messages.lastElementChild) { messages.lastElementChild.scrollIntoView({ block: "end" }); }
  }
})();

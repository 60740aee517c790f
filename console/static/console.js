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

  // How long ago, as the server's "waited" filter says it.
  function waited(iso) {
    if (!iso) { return ""; }
    var minutes = Math.max(0, Math.floor((Date.now() - new Date(iso).getTime()) / 60000));
    if (minutes < 1) { return "dưới 1 phút"; }
    if (minutes < 60) { return minutes + " phút"; }
    var hours = Math.floor(minutes / 60), rest = minutes % 60;
    if (hours < 24) { return hours + " giờ" + (rest ? " " + rest + " phút" : ""); }
    return Math.floor(hours / 24) + " ngày";
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
      a.appendChild(el("span", "ticket__question", t.first_question || "(chưa nhắn câu hỏi)"));
      if (t.unread) {
        var unread = el("span", "ticket__unread", t.unread + " tin mới");
        unread.setAttribute("aria-label", t.unread + " tin chưa đọc");
        a.appendChild(unread);
      }
      var meta = el("span", "ticket__meta");
      meta.appendChild(el("span", "ticket__id", "#" + t.id));
      meta.appendChild(el("span", "ticket__reason", REASONS[t.reason] || t.reason));
      if (t.procedure) {
        var proc = el("span", "ticket__procedure", t.procedure_name || t.procedure);
        proc.title = t.procedure;
        meta.appendChild(proc);
      }
      if (t.status === "waiting") {
        meta.appendChild(el("span", "ticket__wait", "chờ " + waited(t.created_at) + (t.position ? " · vị trí " + t.position : "")));
      } else if (t.status === "claimed" && t.last_citizen_at) {
        meta.appendChild(el("span", "ticket__wait", "tin mới nhất " + waited(t.last_citizen_at) + " trước"));
      }
      if (t.owner_name) { meta.appendChild(el("span", "ticket__owner", t.owner_name)); }
      if (t.undelivered) { meta.appendChild(el("span", "undelivered", t.undelivered + " tin chưa gửi được")); }
      a.appendChild(meta);
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
  // The newest message is brought into view: inside the conversation's own box on a desktop; on a
  // phone (the page scrolls) only when the officer is not typing, so the reply box stays put.
  function showNewest() {
    var ol = document.getElementById("messages");
    if (!ol || !ol.lastElementChild) { return; }
    if (ol.scrollHeight > ol.clientHeight + 1 && getComputedStyle(ol).overflowY !== "visible") {
      ol.scrollTop = ol.scrollHeight;
    } else if (!(document.activeElement && document.activeElement.tagName === "TEXTAREA")) {
      ol.lastElementChild.scrollIntoView({ block: "end" });
    }
  }

  function renderMessages(ticket, messages) {
    var ol = document.getElementById("messages");
    var before = ol.children.length;
    var scrolled = ol.scrollTop;
    var atBottom = ol.scrollHeight - ol.scrollTop - ol.clientHeight < 40;
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
    // redrawing keeps the officer's place, and follows the conversation when they were at its end
    if (messages.length > before || atBottom) { showNewest(); } else { ol.scrollTop = scrolled; }
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
        // The first poll compares with what the server drew: a message that arrived in between (while
        // the page loaded) is drawn too, not silently taken as already shown.
        var drawn = Array.prototype.map.call(document.querySelectorAll("#messages > li"), function (li) {
          return li.getAttribute("data-id");
        }).join(",");
        var fetched = d.messages.map(function (m) { return String(m.id); }).join(",");
        if (lastMessages !== null || drawn !== fetched) { renderMessages(t, d.messages); }
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

  // --- inserting a canned reply or the bot's answer into the reply --------------------------------
  function insertIntoReply(text) {
    var box = document.getElementById("reply-text");
    if (!box || !text) { return; }
    var start = box.selectionStart || box.value.length, end = box.selectionEnd || box.value.length;
    var before = box.value.slice(0, start), after = box.value.slice(end);
    var glue = before && !/\s$/.test(before) ? "\n" : "";
    box.value = before + glue + text + after;
    box.focus();
    var at = (before + glue + text).length;
    box.setSelectionRange(at, at);
  }

  var insertError = document.getElementById("insert-error");
  function sayInsertError(message) {
    if (!insertError) { return; }
    insertError.textContent = message || "";
    insertError.hidden = !message;
  }

  var cannedSelect = document.getElementById("canned");
  if (cannedSelect) {
    cannedSelect.addEventListener("change", function () {
      var option = cannedSelect.options[cannedSelect.selectedIndex];
      if (option && option.value) { insertIntoReply(option.getAttribute("data-text")); }
      cannedSelect.value = "";
    });
  }
  var topicSelect = document.getElementById("bot-topic");
  if (topicSelect) {
    topicSelect.addEventListener("change", function () {
      var topic = topicSelect.value;
      if (!topic) { return; }
      topicSelect.disabled = true;
      sayInsertError("");
      getJSON("/api/tickets/" + body.getAttribute("data-ticket") + "/bot-answer?topic=" + encodeURIComponent(topic))
        .then(function (answer) { insertIntoReply(answer.text); })
        .catch(function () { sayInsertError("Chưa lấy được câu trả lời của trợ lý ảo, vui lòng thử lại."); })
        .then(function () { topicSelect.disabled = false; topicSelect.value = ""; });
    });
  }

  if (page === "inbox") { pollInbox(); }
  if (page === "ticket") { pollTicket(); }
  if (page === "ticket") { showNewest(); }
})();

// The shopper's-phone preview: polls the feed every 2 s and redraws the phone's list.
"use strict";
document.addEventListener("DOMContentLoaded", function () {
  var phone = document.getElementById("phone");
  if (!phone) { return; }
  var feed = document.getElementById("phone-feed");
  var held = document.getElementById("phone-held");
  var live = document.getElementById("phone-live");
  var clock = document.getElementById("phone-clock");
  function el(tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) { node.className = cls; }
    if (text !== undefined) { node.textContent = text; }
    return node;
  }
  function push(p) {
    var item = el("li", p.expired ? "push expired" : "push");
    var head = el("div", "push-head");
    head.appendChild(el("strong", "", p.title));
    if (p.discount_percent) { head.appendChild(el("span", "push-badge", "-" + p.discount_percent + " %")); }
    item.appendChild(head);
    item.appendChild(el("p", "", p.body));
    var where = p.zone ? p.zone + " · " + p.store + " · " : "";
    var until = p.expired ? "expired" : "until " + (p.expires_at || "").slice(11, 16) + " UTC";
    item.appendChild(el("div", "push-meta", where + until));
    return item;
  }
  function draw(doc) {
    feed.replaceChildren.apply(feed, doc.received.length ? doc.received.map(push)
      : [el("li", "push-empty", "Nothing received yet.")]);
    held.replaceChildren.apply(held, doc.held.length ? doc.held.map(function (p) {
      var why = p.why_not && p.why_not !== p.status ? ": " + p.why_not : "";
      var item = el("li", "");
      item.appendChild(el("strong", "", p.title));
      item.appendChild(document.createTextNode(" · " + p.status + why));
      return item;
    }) : [el("li", "empty", "None.")]);
    clock.textContent = doc.now.slice(11, 16) + " UTC";
    live.textContent = "Updated " + doc.now.slice(11, 19) + " UTC; every 2 s.";
  }
  function poll() {
    fetch(phone.getAttribute("data-feed"), { credentials: "same-origin", cache: "no-store" })
      .then(function (r) { if (!r.ok) { throw new Error(r.status); } return r.json(); })
      .then(draw)
      .catch(function () { live.textContent = "Cannot reach the server; retrying."; })
      .finally(function () { setTimeout(poll, 2000); });
  }
  setTimeout(poll, 2000);
});

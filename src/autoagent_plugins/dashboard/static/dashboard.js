// autoagent dashboard: follows a run live. The run page's table names its event stream
// (server-sent events tailing events.jsonl); each event becomes a row built with
// textContent, so nothing a model or tool wrote is ever parsed as HTML.
(function () {
  "use strict";
  var table = document.getElementById("events");
  if (!table || !window.EventSource) { return; }
  var tbody = table.tBodies[0];
  var status = document.getElementById("live-status");
  var agent = table.dataset.agent || "";
  var kind = table.dataset.kind || "";
  var url = table.dataset.stream + "?offset=" + encodeURIComponent(table.dataset.offset) +
    "&line=" + encodeURIComponent(table.dataset.line) +
    "&run=" + encodeURIComponent(table.dataset.run || "");
  var source = new EventSource(url);

  function cell(row, value, cls) {
    var td = document.createElement("td");
    td.textContent = value === null || value === undefined ? "" : String(value);
    if (cls) { td.className = cls; }
    row.appendChild(td);
  }

  source.onmessage = function (message) {
    var event;
    try { event = JSON.parse(message.data); } catch (err) { return; }
    if ((agent && event.agent !== agent) || (kind && event.kind !== kind)) { return; }
    var row = document.createElement("tr");
    row.dataset.agent = event.agent;
    row.dataset.kind = event.kind;
    row.className = "new";
    cell(row, event.seq);
    cell(row, event.time);
    cell(row, event.turn);
    cell(row, event.agent, "agent");
    cell(row, event.kind, "kind");
    cell(row, event.summary, "summary");
    tbody.appendChild(row);
  };
  source.addEventListener("run", function (message) {
    tbody.textContent = "";
    table.dataset.run = message.data;
    var heading = document.querySelector("h1");
    if (heading) { heading.textContent = "Run " + message.data; }
  });
  source.onopen = function () { if (status) { status.textContent = "following the run live"; } };
  source.onerror = function () { if (status) { status.textContent = "reconnecting…"; } };
}());

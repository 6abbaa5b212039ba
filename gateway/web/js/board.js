// The hall's display board (decision 61): the office's queue, pushed by the gateway as
// server-sent events within a second of a call; Chinese with English beneath, no
// choice to make (nobody touches a hall's screen). The office comes from the URL's
// fragment: /board/#/<city>/<office>.
//
// The stream is read with fetch, not EventSource: every /v1 request names its channel
// in a header, which EventSource cannot send. A lost stream is opened again after a
// second, and its first event is the whole queue again, so nothing stays missed.
import { h, replace } from "./dom.js";

const HEADERS = { "X-Mintong-Channel": "web", "Accept-Language": "zh-CN" };
const RETRY_MS = 1000;
const main = () => document.getElementById("main");
const [city, office] = (location.hash || "#/").slice(2).split("/").map(decodeURIComponent);
let officeName = "";
let link = "connecting";

const both = (zh, en) => [zh, h("span", { lang: "en" }, en)];
const counterZh = (n) => `请到 ${n} 号窗口`;
const counterEn = (n) => `Counter ${n}`;
const CHANGES = { called: "叫号", recalled: "再次叫号" };

function draw(update) {
  const { queue, change } = update;
  const called = queue.called;
  // The call just made is the big one; otherwise the newest call stays there.
  const latest = change && CHANGES[change.change] ? called.find((t) => t.code === change.ticket_code) : null;
  const head = latest || called[called.length - 1];
  document.body.dataset.calls = String((Number(document.body.dataset.calls) || 0) + (latest ? 1 : 0));
  replace(main(),
    h("h1", {}, ...both("叫号", "Now calling")),
    h("p", { class: "office" }, officeName || office),
    head
      ? h("section", { class: latest ? "latest fresh" : "latest", "aria-label": "最新叫号 Latest call", "data-latest": head.code },
        h("span", { class: "ticket" }, head.code),
        h("span", { class: "where" }, ...both(counterZh(head.counter), counterEn(head.counter))))
      : h("p", { class: "latest" }, ...both("暂无叫号", "No ticket called yet")),
    h("h2", {}, ...both("各窗口", "At the counters")),
    called.length
      ? h("ul", { class: "called" }, called.map((t) => h("li", { "data-called": t.code, "data-counter": t.counter },
        h("span", { class: "ticket" }, t.code), h("span", {}, ...both(`${t.counter} 号窗口`, counterEn(t.counter))))))
      : h("p", {}, ...both("各窗口暂无叫号", "No counter is calling")),
    h("h2", {}, ...both("等候", "Waiting")),
    h("p", { class: "waiting", "data-waiting": queue.waiting.length },
      ...both(`等候 ${queue.waiting.length} 人`, `${queue.waiting.length} waiting`)),
    queue.waiting.length
      ? h("ul", { class: "next", "aria-label": "接下来 Next" }, queue.waiting.slice(0, 12).map((t) => h("li", { "data-waiting-ticket": t.code }, t.code)))
      : null,
    // Read out by a screen reader, as a clerk's call is said out loud in the hall.
    h("p", { class: "visually-hidden", role: "status", "aria-live": "assertive" },
      latest ? `${latest.code} ${counterZh(latest.counter)}. ${latest.code}, ${counterEn(latest.counter)}.` : ""),
    linkState(),
  );
  document.body.dataset.ready = "board";
}

function linkState() {
  const words = { live: both("实时", "Live"), lost: both("正在重新连接", "Reconnecting"), connecting: both("正在连接", "Connecting") };
  return h("p", { class: "link", "data-state": link }, ...words[link]);
}

function setLink(state) {
  link = state;
  const shown = document.querySelector(".link");
  if (shown) shown.replaceWith(linkState());
}

function failed(problem) {
  replace(main(), h("h1", {}, ...both("无法显示", "Cannot show the queue")),
    h("p", { role: "alert" }, problem.detail || problem.title || ""));
  document.body.dataset.ready = "board";
}

async function follow() {
  for (;;) {
    try {
      const answer = await fetch(`/v1/offices/${encodeURIComponent(office)}/queue/stream`, {
        headers: { ...HEADERS, Accept: "text/event-stream" }, cache: "no-store", credentials: "omit",
      });
      if (answer.status === 404 || answer.status === 400 || answer.status === 422) {
        return failed(await answer.json());
      }
      if (answer.ok) {
        setLink("live");
        const reader = answer.body.pipeThrough(new TextDecoderStream()).getReader();
        let buffer = "";
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          buffer += value.replace(/\r\n?/g, "\n");
          let end;
          while ((end = buffer.indexOf("\n\n")) >= 0) {
            const block = buffer.slice(0, end);
            buffer = buffer.slice(end + 2);
            const data = block.split("\n").filter((l) => l.startsWith("data:")).map((l) => l.slice(5).trimStart()).join("\n");
            if (data) draw(JSON.parse(data));
          }
        }
      }
    } catch { /* the network went: open it again below */ }
    setLink("lost");
    await new Promise((done) => setTimeout(done, RETRY_MS));
  }
}

async function start() {
  if (!office) return failed({ detail: "地址应为 /board/#/城市/办理地点 — The address is /board/#/<city>/<office>." });
  if (city) {
    try {
      const answer = await fetch(`/v1/cities/${encodeURIComponent(city)}/offices`, { headers: HEADERS, credentials: "omit" });
      const found = answer.ok ? (await answer.json()).offices.find((e) => e.office.id === office) : null;
      officeName = found ? found.office.name : "";
    } catch { /* the id will do */ }
  }
  follow();
}

window.addEventListener("hashchange", () => location.reload());
start();

// The staff console: sign-in with username and password, then the window clerk's day
// at their office (bookings by time, no-show). The staff token lives in memory only:
// a reload or a closed tab signs out, which suits a counter's shared computer.
import { h, replace } from "./dom.js";
import { lang, setLang } from "./i18n.js";

const WORDS = {
  "zh-CN": {
    brand: "民通 · 工作人员", skip: "跳到正文", nav: "主导航", signIn: "工作人员登录", signOut: "退出",
    username: "用户名", password: "密码", day: "当日预约", office: "办理地点", date: "日期", show: "查看",
    time: "时间", business: "业务", citizen: "预约人", code: "确认码", status: "状态", actions: "操作",
    noShow: "记为未到", none: "这一天没有预约。", error: "未能完成", network: "网络异常，请稍后再试。",
    noOffice: "您的账号没有所属办理地点，请联系管理员。", signedInAs: (u, r) => `已登录：${u}（${r}）`,
    statuses: { confirmed: "已预约", cancelled: "已取消", checked_in: "已签到", lapsed: "已过期", no_show: "未到" },
  },
  en: {
    brand: "Mintong · Staff", skip: "Skip to content", nav: "Main", signIn: "Staff sign-in", signOut: "Sign out",
    username: "Username", password: "Password", day: "Bookings of the day", office: "Office", date: "Date", show: "Show",
    time: "Time", business: "Service", citizen: "Citizen", code: "Code", status: "Status", actions: "Actions",
    noShow: "Mark no-show", none: "No bookings on this day.", error: "Could not complete", network: "Network problem; try again shortly.",
    noOffice: "Your account has no office; ask an administrator.", signedInAs: (u, r) => `Signed in: ${u} (${r})`,
    statuses: { confirmed: "Confirmed", cancelled: "Cancelled", checked_in: "Checked in", lapsed: "Lapsed", no_show: "No-show" },
  },
};
const t = (key, ...args) => {
  const value = WORDS[lang()][key];
  return typeof value === "function" ? value(...args) : value;
};

let session = null; // {token, username, role, office_id}

class Refusal extends Error {
  constructor(problem) {
    super(problem.detail || problem.title || "error");
    this.code = problem.code || "";
  }
}

async function call(method, path, { body, query } = {}) {
  const url = new URL(path, location.origin);
  for (const [k, v] of Object.entries(query || {})) url.searchParams.set(k, v);
  const headers = { "X-Mintong-Channel": "web", "Accept-Language": lang() };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (session) headers.Authorization = `Bearer ${session.token}`;
  const answer = await fetch(url, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), credentials: "omit", cache: "no-store" });
  const text = await answer.text();
  const data = text ? JSON.parse(text) : {};
  if (!answer.ok) throw new Refusal(data);
  return data;
}

function notice(error) {
  return h("div", { class: "notice error", role: "alert", "data-code": error.code || "network" },
    h("h2", {}, t("error")), h("p", {}, error instanceof Refusal ? error.message : t("network")));
}

function page(title, ...children) {
  document.title = `${title} · ${t("brand")}`;
  replace(document.getElementById("main"), h("h1", {}, title), ...children);
  document.getElementById("main").focus({ preventScroll: true });
  document.body.dataset.ready = title;
}

function chrome() {
  document.documentElement.lang = lang();
  document.querySelector(".skip").textContent = t("skip");
  document.getElementById("brand").textContent = t("brand");
  document.getElementById("language").value = lang();
  const nav = document.getElementById("nav");
  nav.setAttribute("aria-label", t("nav"));
  if (!session) return replace(nav);
  const out = h("button", { type: "button", class: "secondary" }, t("signOut"));
  out.addEventListener("click", async () => {
    try { await call("POST", "/v1/staff/logout"); } catch { /* signed out here anyway */ }
    session = null;
    render();
  });
  replace(nav, h("ul", {}, h("li", {}, t("signedInAs", session.username, session.role)), h("li", {}, out)));
}

function signIn() {
  const username = h("input", { id: "username", autocomplete: "username", required: true, maxlength: 64 });
  const password = h("input", { id: "password", type: "password", autocomplete: "current-password", required: true });
  const note = h("div", {});
  const submit = h("button", { type: "submit", id: "staff-sign-in" }, t("signIn"));
  const form = h("form", { novalidate: true },
    h("p", {}, h("label", { for: "username" }, t("username")), username),
    h("p", {}, h("label", { for: "password" }, t("password")), password),
    note, h("p", { class: "actions" }, submit));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    submit.disabled = true;
    try {
      const answer = await call("POST", "/v1/staff/token", { body: { username: username.value.trim(), password: password.value } });
      session = { token: answer.access_token, username: answer.username, role: answer.role, office_id: answer.office_id };
      render();
    } catch (error) {
      replace(note, notice(error));
    } finally {
      submit.disabled = false;
    }
  });
  page(t("signIn"), form);
}

function today() {
  // The bureau's cities are all on Beijing time.
  return new Intl.DateTimeFormat("en-CA", { timeZone: "Asia/Shanghai" }).format(new Date());
}

async function day(date = today()) {
  if (!session.office_id) return page(t("day"), h("p", {}, t("noOffice")));
  const dateInput = h("input", { id: "date", type: "date", value: date });
  const show = h("button", { type: "submit" }, t("show"));
  const form = h("form", { class: "actions" }, h("p", {}, h("label", { for: "date" }, t("date")), dateInput), h("p", {}, show));
  form.addEventListener("submit", (event) => { event.preventDefault(); day(dateInput.value).catch(failed); });
  const outcome = h("div", {});
  const { bookings } = await call("GET", `/v1/staff/offices/${encodeURIComponent(session.office_id)}/bookings`, { query: { date } });
  const rows = bookings.map((b) => {
    const cell = h("td", {});
    if (b.status === "confirmed") {
      const button = h("button", { type: "button", class: "secondary", "data-action": "no-show" }, t("noShow"));
      button.addEventListener("click", async () => {
        button.disabled = true;
        try { await call("POST", `/v1/staff/bookings/${b.id}/no-show`); await day(date); } catch (error) { replace(outcome, notice(error)); button.disabled = false; }
      });
      cell.append(button);
    }
    return h("tr", { "data-booking": b.id },
      h("td", {}, `${b.start}–${b.end}`), h("td", {}, b.snapshot.business_name), h("td", {}, b.citizen_masked_name || ""),
      h("td", { class: "code" }, b.confirmation_code), h("td", {}, WORDS[lang()].statuses[b.status] || b.status), cell);
  });
  page(`${t("day")} · ${session.office_id}`, form, outcome, rows.length
    ? h("div", { class: "table-scroll", role: "region", "aria-label": `${t("day")} ${date}`, tabindex: "0" },
      h("table", {}, h("caption", { class: "visually-hidden" }, `${t("day")} ${date}`),
        h("thead", {}, h("tr", {}, [t("time"), t("business"), t("citizen"), t("code"), t("status"), t("actions")].map((c) => h("th", { scope: "col" }, c)))),
        h("tbody", {}, rows)))
    : h("p", {}, t("none")));
}

function failed(error) {
  page(t("error"), notice(error));
}

function render() {
  chrome();
  if (!session) return signIn();
  day().catch(failed);
}

document.getElementById("language").addEventListener("change", (event) => {
  setLang(event.target.value);
  render();
});
render();

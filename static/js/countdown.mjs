// Ticks every <time data-countdown datetime="ISO"> down once a second ("in 2d 03h 04m").
// The server renders a readable fallback, so the page works without this script.

const pad = (n) => String(n).padStart(2, "0");

export function formatRemaining(ms) {
  if (ms <= 0) return "now";
  let s = Math.floor(ms / 1000);
  const days = Math.floor(s / 86400); s %= 86400;
  const hours = Math.floor(s / 3600); s %= 3600;
  const minutes = Math.floor(s / 60); const seconds = s % 60;
  if (days) return `in ${days}d ${pad(hours)}h ${pad(minutes)}m`;
  if (hours) return `in ${hours}h ${pad(minutes)}m ${pad(seconds)}s`;
  return `in ${minutes}m ${pad(seconds)}s`;
}

export function startCountdowns(root = document) {
  const clocks = [...root.querySelectorAll("time[data-countdown]")]
    .map((el) => ({ el, at: Date.parse(el.getAttribute("datetime")) }))
    .filter((c) => !Number.isNaN(c.at));
  if (!clocks.length) return null;
  const tick = () => {
    const now = Date.now();
    for (const { el, at } of clocks) {
      el.textContent = formatRemaining(at - now);
      el.dataset.expired = String(at <= now);
    }
  };
  tick();
  return setInterval(tick, 1000);
}

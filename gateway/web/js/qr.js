// The booking's QR payload drawn on a canvas by the vendored encoder (vendor/README.md).
import qrcode from "../vendor/qrcode.mjs";

export function qrCanvas(payload, label) {
  const code = qrcode(0, "M");
  code.addData(payload, "Byte");
  code.make();
  const modules = code.getModuleCount();
  const quiet = 4;
  const scale = Math.max(2, Math.floor(220 / (modules + 2 * quiet)));
  const size = (modules + 2 * quiet) * scale;
  const canvas = document.createElement("canvas");
  canvas.width = size;
  canvas.height = size;
  canvas.className = "qr";
  canvas.setAttribute("role", "img");
  canvas.setAttribute("aria-label", label);
  canvas.dataset.modules = String(modules);
  const context = canvas.getContext("2d");
  context.fillStyle = "#fff";
  context.fillRect(0, 0, size, size);
  context.fillStyle = "#000";
  for (let row = 0; row < modules; row += 1) {
    for (let col = 0; col < modules; col += 1) {
      if (code.isDark(row, col)) context.fillRect((col + quiet) * scale, (row + quiet) * scale, scale, scale);
    }
  }
  return canvas;
}

// Colour checks run in the page by test_themes_browser.py: what getComputedStyle returns,
// parsed and composited, and WCAG 2's contrast ratio (relative luminance). The file is one
// object expression; the test calls its methods as `(arg) => (<this file>).method(arg)`.
({
  /** "rgb(...)", "rgba(...)" or "color(srgb ...)" as [r, g, b, a] (0..255, alpha 0..1); null otherwise. */
  parse(c) {
    let m = /^rgba?\(([\d.]+)[ ,]+([\d.]+)[ ,]+([\d.]+)(?:[ ,/]+([\d.]+))?\)$/.exec(c.trim());
    if (m) return [+m[1], +m[2], +m[3], m[4] === undefined ? 1 : +m[4]];
    m = /^color\(srgb ([\d.e-]+) ([\d.e-]+) ([\d.e-]+)(?: \/ ([\d.]+))?\)$/.exec(c.trim());
    if (m) return [m[1] * 255, m[2] * 255, m[3] * 255, m[4] === undefined ? 1 : +m[4]];
    return null;
  },

  /** Any CSS colour as the browser resolves it. */
  resolve(c) {
    const probe = document.createElement("i");
    probe.style.color = c;
    document.body.append(probe);
    const out = this.parse(getComputedStyle(probe).color);
    probe.remove();
    return out;
  },

  over(top, bottom) {
    return [0, 1, 2].map((i) => top[i] * top[3] + bottom[i] * (1 - top[3]));
  },

  luminance(rgb) {
    const ch = (v) => {
      const s = v / 255;
      return s <= 0.04045 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4;
    };
    return 0.2126 * ch(rgb[0]) + 0.7152 * ch(rgb[1]) + 0.0722 * ch(rgb[2]);
  },

  ratio(a, b) {
    const [x, y] = [this.luminance(a), this.luminance(b)].sort((p, q) => q - p);
    return (x + 0.05) / (y + 0.05);
  },

  /** The opaque colour behind an element: its and its ancestors' backgrounds, composited. */
  backdrop(el) {
    const layers = [];
    for (let n = el; n && n.nodeType === 1; n = n.parentElement) {
      const c = this.parse(getComputedStyle(n).backgroundColor);
      if (c && c[3] > 0) {
        layers.push(c);
        if (c[3] >= 1) break;
      }
    }
    let rgb = [255, 255, 255];
    for (const c of layers.reverse()) rgb = this.over(c, rgb);
    return rgb;
  },

  opacity(el) {
    let o = 1;
    for (let n = el; n && n.nodeType === 1; n = n.parentElement) o *= +getComputedStyle(n).opacity;
    return o;
  },

  /**
   * A view's backdrop, the contrast of every visible text in it (HTML text against what is
   * behind it; SVG text's fill against the view), and the palette its canvases were painted with.
   */
  textContrast(root) {
    const results = [];
    const seen = new Set();
    const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
    for (let t = walker.nextNode(); t; t = walker.nextNode()) {
      const el = t.parentElement;
      if (!el || seen.has(el) || t.textContent.trim() === "") continue;
      if (el.getClientRects().length === 0) continue; // not shown
      seen.add(el);
      const cs = getComputedStyle(el);
      if (cs.visibility === "hidden") continue;
      if (el.closest("button:disabled, select:disabled, option, title")) continue; // WCAG exempts disabled controls
      const svg = el instanceof SVGElement;
      const color = svg ? cs.fill : cs.color;
      const ink = this.parse(color);
      const text = t.textContent.trim().slice(0, 40);
      if (!ink) {
        results.push({ text, ratio: 0, color });
        continue;
      }
      ink[3] *= this.opacity(el) * (svg ? +cs.fillOpacity : 1);
      const bg = this.backdrop(svg ? el.closest("svg").parentElement : el);
      const ratio = this.ratio(this.over(ink, bg), bg);
      results.push({ text, ratio, color, bg: bg.map(Math.round).join(",") });
    }
    const canvases = [...root.querySelectorAll("canvas[data-ink]")].map((c) => {
      const bg = this.resolve(c.dataset.background);
      const ink = this.resolve(c.dataset.ink);
      return {
        ink: c.dataset.ink,
        background: `rgb(${bg.slice(0, 3).map(Math.round).join(", ")})`,
        ratio: this.ratio(this.over(ink, bg), bg),
      };
    });
    return { background: getComputedStyle(root).backgroundColor, results, canvases };
  },

  /** The legend items of a view: their text and how their swatch (::before) shows a colour. */
  legend(root) {
    const items = [...root.querySelectorAll(".rnnw-legend > *, .rnnw-legend > span > *")];
    return items
      .filter((item) => item.getClientRects().length > 0 && item.textContent.trim() !== "")
      .map((item) => {
        const b = getComputedStyle(item, "::before");
        const drawn = parseFloat(b.borderTopWidth) > 0 && b.borderTopStyle !== "none";
        const line = drawn ? b.borderTopColor : "";
        const fill = b.backgroundColor !== "rgba(0, 0, 0, 0)" ? b.backgroundColor : "";
        const ramp = b.backgroundImage !== "none" ? b.backgroundImage : "";
        return {
          text: item.textContent.trim(),
          swatch: b.display === "none" ? "" : fill || ramp || line,
          textOnly: item.classList.contains("rnnw-legend-text"),
          fill,
          line,
        };
      });
  },

  /** The luminance (0..1) of the most opaque pixel left of the SelectView's axis: its tick labels. */
  tickInk(canvas) {
    const ctx = canvas.getContext("2d");
    const dpr = canvas.width / canvas.clientWidth;
    const { data } = ctx.getImageData(0, 0, Math.floor(36 * dpr), canvas.height);
    let best = -1;
    let rgb = null;
    for (let i = 0; i < data.length; i += 4) {
      if (data[i + 3] > best) {
        best = data[i + 3];
        rgb = [data[i], data[i + 1], data[i + 2]];
      }
    }
    return best > 0 ? this.luminance(rgb) : null;
  },

  /** Whether JupyterLab's theme `light` ("true"/"false") is in place and every canvas repainted in it. */
  themeApplied([light, background]) {
    const body = document.body;
    const now = getComputedStyle(body).getPropertyValue("--jp-layout-color0").trim();
    const canvases = [...document.querySelectorAll("canvas[data-background]")];
    return body.dataset.jpThemeLight === light && now === background && canvases.every((c) => c.dataset.background === background);
  },
})

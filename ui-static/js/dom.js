// A tiny element builder: text goes in as text nodes, never as HTML, so product
// names and service messages cannot inject markup.

export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs ?? {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') el.className = v;
    else if (k === 'on') for (const [type, fn] of Object.entries(v)) el.addEventListener(type, fn);
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else if (v === true) el.setAttribute(k, '');
    else el.setAttribute(k, String(v));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children) {
    if (c === undefined || c === null || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

/** A touch button: acts on click (a tap on a touch screen fires click too). */
export function button(label, onPress, { kind = 'secondary', testid, disabled = false, big = false, extra = {} } = {}) {
  return h(
    'button',
    {
      type: 'button',
      class: `btn btn-${kind}${big ? ' btn-big' : ''}`,
      'data-testid': testid,
      disabled,
      on: {
        click: (e) => {
          e.preventDefault();
          onPress();
        },
      },
      ...extra,
    },
    label,
  );
}

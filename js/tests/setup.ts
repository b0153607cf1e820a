// jsdom has no canvas: its getContext returns null after printing "not implemented" for every
// call. Return null quietly; the view must then skip drawing and still build its DOM. Tests
// that check drawing replace this with a recording context.
HTMLCanvasElement.prototype.getContext = (() => null) as typeof HTMLCanvasElement.prototype.getContext;

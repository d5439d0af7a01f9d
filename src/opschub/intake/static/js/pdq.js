/*
 * opschub PDQ photo hash, in plain JavaScript.
 *
 * Follows the steps of Meta's reference implementation (facebook/ThreatExchange pdq/cpp,
 * hashing/pdqhashing.cpp and downscaling/downscaling.cpp), so that a hash computed here is within
 * Hamming distance 10 of the reference hash for images of quality >= 80:
 *
 *   RGB -> luminance (0.299 R + 0.587 G + 0.114 B, float32)
 *   -> Jarosz filter: two passes of a box filter along rows then columns, window
 *      ceil(dimension / 128) -> decimation to 64x64 (sampling at cell centres)
 *   -> quality from the 64x64 gradients -> 16x16 corner of the 2-D DCT-II
 *   -> bit set where the coefficient is above the median (the 128th smallest of the 256).
 *
 * Hex: 64 lowercase digits; bit k (k = row * 16 + column of the 16x16 DCT) sits in 16-bit word
 * k >> 4 at position k & 15, and words are written from 15 down to 0. This is the reference
 * tools' format and equals numpy.packbits(bits).tobytes().hex() for pdqhash's bit vector.
 *
 * Plain script, no build step, no eval: it defines the global `OpschubPDQ` (and module.exports
 * under Node, for tooling). Works under a Content-Security-Policy of script-src 'self'.
 *
 * API (all synchronous except hashImageBlob):
 *   OpschubPDQ.hashLuma(luma: Float32Array, rows, cols) -> {hex, quality}
 *   OpschubPDQ.hashRGBA(data: Uint8ClampedArray|Uint8Array, width, height) -> {hex, quality}
 *   OpschubPDQ.hashImageBlob(blob, {maxPixels}?) -> Promise<{hex, quality, width, height, scaled}>
 *       decodes with createImageBitmap (EXIF orientation honoured); rejects with an Error whose
 *       code is "cannot-decode" when the browser cannot read the image.
 *   OpschubPDQ.distance(hexA, hexB) -> number of differing bits
 */
(function (root) {
  "use strict";

  var LUMA_R = 0.299;
  var LUMA_G = 0.587;
  var LUMA_B = 0.114;
  var MIN_HASHABLE_DIM = 5; // the reference gives an all-zero hash, quality 0, below this
  var JAROSZ_PASSES = 2;
  var DOWNSAMPLE = 64;
  // Above this many pixels the image is first shrunk by the browser's high-quality resampler,
  // to bound memory (two float32 buffers of this size); measured effect in docs/fingerprints.md.
  var DEFAULT_MAX_PIXELS = 4096 * 4096;
  var STRIP_ROWS = 256; // getImageData in strips: never hold the whole RGBA image

  // 16x64 DCT-II matrix, rows 1..16 of the 64-point transform (row 0, the mean, is unused).
  var DCT_MATRIX = (function () {
    var m = new Float32Array(16 * 64);
    var scale = Math.sqrt(2 / 64);
    for (var i = 0; i < 16; i++) {
      for (var j = 0; j < 64; j++) {
        m[i * 64 + j] = scale * Math.cos((Math.PI / 2 / 64) * (i + 1) * (2 * j + 1));
      }
    }
    return m;
  })();

  function jaroszWindowSize(oldDim, newDim) {
    return Math.floor((oldDim + 2 * newDim - 1) / (2 * newDim));
  }

  // Box filter of one line (row or column) read from `src` and written to `dst`, starting at
  // `start`, `length` samples `stride` apart. The window is centred, shrinking at both ends,
  // exactly as the reference's four phases.
  function box1D(src, dst, start, length, stride, fullWindow) {
    var half = Math.floor((fullWindow + 2) / 2);
    var phase1 = half - 1;
    var phase2 = fullWindow - half + 1;
    var phase3 = length - fullWindow;
    var phase4 = half - 1;
    var li = start;
    var ri = start;
    var oi = start;
    var sum = 0;
    var count = 0;
    var i;
    for (i = 0; i < phase1; i++) {
      sum += src[ri];
      count++;
      ri += stride;
    }
    for (i = 0; i < phase2; i++) {
      sum += src[ri];
      count++;
      dst[oi] = sum / count;
      ri += stride;
      oi += stride;
    }
    for (i = 0; i < phase3; i++) {
      sum += src[ri];
      sum -= src[li];
      dst[oi] = sum / count;
      li += stride;
      ri += stride;
      oi += stride;
    }
    for (i = 0; i < phase4; i++) {
      sum -= src[li];
      count--;
      dst[oi] = sum / count;
      li += stride;
      oi += stride;
    }
  }

  function jaroszFilter(buf1, buf2, rows, cols, windowAlongRows, windowAlongCols) {
    for (var pass = 0; pass < JAROSZ_PASSES; pass++) {
      var r, c;
      for (r = 0; r < rows; r++) box1D(buf1, buf2, r * cols, cols, 1, windowAlongRows);
      for (c = 0; c < cols; c++) box1D(buf2, buf1, c, rows, cols, windowAlongCols);
    }
  }

  function decimate(buf, rows, cols) {
    var out = new Float32Array(DOWNSAMPLE * DOWNSAMPLE);
    for (var i = 0; i < DOWNSAMPLE; i++) {
      var ini = Math.floor(((i + 0.5) * rows) / DOWNSAMPLE);
      for (var j = 0; j < DOWNSAMPLE; j++) {
        var inj = Math.floor(((j + 0.5) * cols) / DOWNSAMPLE);
        out[i * DOWNSAMPLE + j] = buf[ini * cols + inj];
      }
    }
    return out;
  }

  // Gradient in percent of full scale, truncated toward zero like the reference's int cast.
  function significant(u, v) {
    return Math.abs(Math.trunc(((u - v) * 100) / 255));
  }

  // Heuristic of the reference: sum of significant vertical and horizontal gradients.
  function qualityOf(b) {
    var sum = 0;
    var i, j;
    for (i = 0; i < 63; i++) {
      for (j = 0; j < 64; j++) sum += significant(b[i * 64 + j], b[(i + 1) * 64 + j]);
    }
    for (i = 0; i < 64; i++) {
      for (j = 0; j < 63; j++) sum += significant(b[i * 64 + j], b[i * 64 + j + 1]);
    }
    return Math.min(100, Math.floor(sum / 90));
  }

  // B = D A D^T, only the 16x16 low-frequency corner (without the DC row and column).
  function dct64To16(a) {
    var t = new Float64Array(16 * 64);
    var b = new Float64Array(16 * 16);
    var i, j, k, s;
    for (i = 0; i < 16; i++) {
      for (j = 0; j < 64; j++) {
        s = 0;
        for (k = 0; k < 64; k++) s += DCT_MATRIX[i * 64 + k] * a[k * 64 + j];
        t[i * 64 + j] = s;
      }
    }
    for (i = 0; i < 16; i++) {
      for (j = 0; j < 16; j++) {
        s = 0;
        for (k = 0; k < 64; k++) s += t[i * 64 + k] * DCT_MATRIX[j * 64 + k];
        b[i * 16 + j] = s;
      }
    }
    return b;
  }

  function bitsToHex(dct) {
    var sorted = Array.prototype.slice.call(dct).sort(function (x, y) {
      return x - y;
    });
    var median = sorted[127]; // what the reference's Torben selection returns for n = 256
    var words = new Array(16);
    for (var w = 0; w < 16; w++) {
      var v = 0;
      for (var bit = 0; bit < 16; bit++) if (dct[w * 16 + bit] > median) v |= 1 << bit;
      words[w] = v;
    }
    var hex = "";
    for (var x = 15; x >= 0; x--) hex += ("000" + words[x].toString(16)).slice(-4);
    return hex;
  }

  var ZERO_HASH = new Array(65).join("0");

  // `luma` is row-major rows x cols and is overwritten (it becomes the blurred image).
  function hashLuma(luma, rows, cols) {
    if (rows < MIN_HASHABLE_DIM || cols < MIN_HASHABLE_DIM) return { hex: ZERO_HASH, quality: 0 };
    var b64;
    if (rows === DOWNSAMPLE && cols === DOWNSAMPLE) {
      b64 = Float32Array.from(luma);
    } else {
      var scratch = new Float32Array(rows * cols);
      jaroszFilter(
        luma,
        scratch,
        rows,
        cols,
        jaroszWindowSize(cols, DOWNSAMPLE),
        jaroszWindowSize(rows, DOWNSAMPLE)
      );
      b64 = decimate(luma, rows, cols);
    }
    return { hex: bitsToHex(dct64To16(b64)), quality: qualityOf(b64) };
  }

  function fillLuma(data, luma, offset, pixels) {
    for (var p = 0, q = 0; p < pixels; p++, q += 4) {
      luma[offset + p] = LUMA_R * data[q] + LUMA_G * data[q + 1] + LUMA_B * data[q + 2];
    }
  }

  function hashRGBA(data, width, height) {
    var luma = new Float32Array(width * height);
    fillLuma(data, luma, 0, width * height);
    return hashLuma(luma, height, width);
  }

  function decodeError(message, cause) {
    var err = new Error(message);
    err.code = "cannot-decode";
    if (cause) err.cause = cause;
    return err;
  }

  function makeCanvas(width, height) {
    if (typeof OffscreenCanvas === "function") return new OffscreenCanvas(width, height);
    var canvas = document.createElement("canvas");
    canvas.width = width;
    canvas.height = height;
    return canvas;
  }

  async function decodeBitmap(blob, maxPixels) {
    var bitmap;
    try {
      bitmap = await createImageBitmap(blob, {
        imageOrientation: "from-image",
        premultiplyAlpha: "none",
        // Raw decoded values, no ICC conversion: what the server's decoder (Pillow) hashes.
        colorSpaceConversion: "none",
      });
    } catch (e) {
      throw decodeError("The browser cannot decode this image.", e);
    }
    var width = bitmap.width;
    var height = bitmap.height;
    if (!(width > 0 && height > 0)) {
      bitmap.close();
      throw decodeError("The image has no pixels.");
    }
    var scaled = false;
    if (width * height > maxPixels) {
      var factor = Math.sqrt(maxPixels / (width * height));
      var w = Math.max(1, Math.floor(width * factor));
      var h = Math.max(1, Math.floor(height * factor));
      try {
        var smaller = await createImageBitmap(bitmap, {
          resizeWidth: w,
          resizeHeight: h,
          resizeQuality: "high",
        });
        bitmap.close();
        bitmap = smaller;
        scaled = true;
      } catch (e) {
        bitmap.close();
        throw decodeError("The image is too large for this browser.", e);
      }
    }
    return { bitmap: bitmap, scaled: scaled };
  }

  async function hashImageBlob(blob, options) {
    var maxPixels = (options && options.maxPixels) || DEFAULT_MAX_PIXELS;
    var decoded = await decodeBitmap(blob, maxPixels);
    var bitmap = decoded.bitmap;
    var width = bitmap.width;
    var height = bitmap.height;
    var luma;
    try {
      var canvas = makeCanvas(width, height);
      var ctx = canvas.getContext("2d", { willReadFrequently: true });
      if (!ctx) throw decodeError("This browser cannot draw the image.");
      ctx.drawImage(bitmap, 0, 0);
      luma = new Float32Array(width * height);
      for (var y = 0; y < height; y += STRIP_ROWS) {
        var rows = Math.min(STRIP_ROWS, height - y);
        fillLuma(ctx.getImageData(0, y, width, rows).data, luma, y * width, rows * width);
      }
    } catch (e) {
      throw e && e.code ? e : decodeError("The browser cannot read the image's pixels.", e);
    } finally {
      bitmap.close();
    }
    var result = hashLuma(luma, height, width);
    return {
      hex: result.hex,
      quality: result.quality,
      width: width,
      height: height,
      scaled: decoded.scaled,
    };
  }

  var NIBBLE_BITS = [0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4];

  function distance(hexA, hexB) {
    if (!/^[0-9a-f]{64}$/i.test(hexA) || !/^[0-9a-f]{64}$/i.test(hexB)) {
      throw new Error("PDQ hashes must be 64 hexadecimal digits.");
    }
    var d = 0;
    for (var i = 0; i < 64; i++) d += NIBBLE_BITS[parseInt(hexA[i], 16) ^ parseInt(hexB[i], 16)];
    return d;
  }

  var api = {
    hashLuma: hashLuma,
    hashRGBA: hashRGBA,
    hashImageBlob: hashImageBlob,
    distance: distance,
    jaroszWindowSize: jaroszWindowSize,
    DEFAULT_MAX_PIXELS: DEFAULT_MAX_PIXELS,
  };
  root.OpschubPDQ = api;
  if (typeof module === "object" && module.exports) module.exports = api;
})(typeof globalThis !== "undefined" ? globalThis : this);

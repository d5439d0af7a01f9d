/*
 * opschub streaming MD5 (RFC 1321) in plain JavaScript.
 *
 * MD5 is broken as a cryptographic hash; it is computed only because partner hash lists still
 * exchange MD5 values. It is incremental so that a large video is read in chunks and never held
 * whole in memory.
 *
 * Plain script, no eval: defines the global `OpschubMD5` (and module.exports under Node).
 *   var h = OpschubMD5.create(); h.update(uint8Array); ...; h.hex() -> 32 lowercase hex digits
 *   OpschubMD5.hex(uint8Array) -> one-shot digest
 * After hex() the object is finished; update() then throws.
 */
(function (root) {
  "use strict";

  // Per-round left-rotation amounts and the sine-derived constants of RFC 1321.
  var SHIFTS = [
    7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22, 5, 9, 14, 20, 5, 9, 14, 20, 5, 9,
    14, 20, 5, 9, 14, 20, 4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23, 6, 10, 15,
    21, 6, 10, 15, 21, 6, 10, 15, 21, 6, 10, 15, 21,
  ];
  var K = new Int32Array(64);
  for (var n = 0; n < 64; n++) K[n] = Math.floor(Math.abs(Math.sin(n + 1)) * 4294967296) | 0;

  function Md5() {
    this.state = new Int32Array([0x67452301, 0xefcdab89 | 0, 0x98badcfe | 0, 0x10325476]);
    this.block = new Uint8Array(64);
    this.words = new Int32Array(16);
    this.blockLength = 0;
    this.totalBytes = 0;
    this.finished = false;
  }

  Md5.prototype.compress = function (bytes, offset) {
    var x = this.words;
    for (var i = 0; i < 16; i++) {
      var p = offset + i * 4;
      x[i] = bytes[p] | (bytes[p + 1] << 8) | (bytes[p + 2] << 16) | (bytes[p + 3] << 24);
    }
    var s = this.state;
    var a = s[0];
    var b = s[1];
    var c = s[2];
    var d = s[3];
    for (var j = 0; j < 64; j++) {
      var f, g;
      if (j < 16) {
        f = (b & c) | (~b & d);
        g = j;
      } else if (j < 32) {
        f = (d & b) | (~d & c);
        g = (5 * j + 1) & 15;
      } else if (j < 48) {
        f = b ^ c ^ d;
        g = (3 * j + 5) & 15;
      } else {
        f = c ^ (b | ~d);
        g = (7 * j) & 15;
      }
      var t = (a + f + K[j] + x[g]) | 0;
      a = d;
      d = c;
      c = b;
      b = (b + ((t << SHIFTS[j]) | (t >>> (32 - SHIFTS[j])))) | 0;
    }
    s[0] = (s[0] + a) | 0;
    s[1] = (s[1] + b) | 0;
    s[2] = (s[2] + c) | 0;
    s[3] = (s[3] + d) | 0;
  };

  Md5.prototype.update = function (bytes) {
    if (this.finished) throw new Error("MD5 already finished");
    var i = 0;
    var len = bytes.length;
    this.totalBytes += len;
    if (this.blockLength > 0) {
      while (i < len && this.blockLength < 64) this.block[this.blockLength++] = bytes[i++];
      if (this.blockLength < 64) return this;
      this.compress(this.block, 0);
      this.blockLength = 0;
    }
    for (; i + 64 <= len; i += 64) this.compress(bytes, i);
    while (i < len) this.block[this.blockLength++] = bytes[i++];
    return this;
  };

  Md5.prototype.hex = function () {
    if (this.finished) throw new Error("MD5 already finished");
    var bitLength = this.totalBytes * 8;
    var padLength = this.blockLength < 56 ? 56 - this.blockLength : 120 - this.blockLength;
    var pad = new Uint8Array(padLength + 8);
    pad[0] = 0x80;
    // Length in bits, little-endian 64-bit (exact up to 2^53 bits).
    var low = bitLength >>> 0;
    var high = Math.floor(bitLength / 4294967296) >>> 0;
    for (var k = 0; k < 4; k++) {
      pad[padLength + k] = (low >>> (8 * k)) & 0xff;
      pad[padLength + 4 + k] = (high >>> (8 * k)) & 0xff;
    }
    var total = this.totalBytes;
    this.update(pad);
    this.totalBytes = total;
    this.finished = true;
    var out = "";
    for (var w = 0; w < 4; w++) {
      for (var byte = 0; byte < 4; byte++) {
        out += ("0" + ((this.state[w] >>> (8 * byte)) & 0xff).toString(16)).slice(-2);
      }
    }
    return out;
  };

  var api = {
    create: function () {
      return new Md5();
    },
    hex: function (bytes) {
      return new Md5().update(bytes).hex();
    },
  };
  root.OpschubMD5 = api;
  if (typeof module === "object" && module.exports) module.exports = api;
})(typeof globalThis !== "undefined" ? globalThis : this);

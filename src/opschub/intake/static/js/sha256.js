/*
 * opschub streaming SHA-256 (FIPS 180-4) in plain JavaScript.
 *
 * Why not crypto.subtle.digest: it has no streaming interface (a large video would have to be held
 * whole in memory) and it exists only in secure contexts. This incremental version reads a file
 * chunk by chunk in the same pass as MD5; the browser test checks it against crypto.subtle and
 * Python's hashlib.
 *
 * Plain script, no eval: defines the global `OpschubSHA256` (and module.exports under Node).
 *   var h = OpschubSHA256.create(); h.update(uint8Array); ...; h.hex() -> 64 lowercase hex digits
 *   OpschubSHA256.hex(uint8Array) -> one-shot digest
 */
(function (root) {
  "use strict";

  var K = new Int32Array([
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
  ]);
  var INITIAL = [
    0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
  ];

  function Sha256() {
    this.state = new Int32Array(INITIAL);
    this.block = new Uint8Array(64);
    this.w = new Int32Array(64);
    this.blockLength = 0;
    this.totalBytes = 0;
    this.finished = false;
  }

  Sha256.prototype.compress = function (bytes, offset) {
    var w = this.w;
    var i, t1, t2, x, y;
    for (i = 0; i < 16; i++) {
      var p = offset + i * 4;
      w[i] = (bytes[p] << 24) | (bytes[p + 1] << 16) | (bytes[p + 2] << 8) | bytes[p + 3];
    }
    for (i = 16; i < 64; i++) {
      x = w[i - 15];
      y = w[i - 2];
      var s0 = ((x >>> 7) | (x << 25)) ^ ((x >>> 18) | (x << 14)) ^ (x >>> 3);
      var s1 = ((y >>> 17) | (y << 15)) ^ ((y >>> 19) | (y << 13)) ^ (y >>> 10);
      w[i] = (w[i - 16] + s0 + w[i - 7] + s1) | 0;
    }
    var s = this.state;
    var a = s[0];
    var b = s[1];
    var c = s[2];
    var d = s[3];
    var e = s[4];
    var f = s[5];
    var g = s[6];
    var h = s[7];
    for (i = 0; i < 64; i++) {
      var sum1 = ((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7));
      var ch = (e & f) ^ (~e & g);
      t1 = (h + sum1 + ch + K[i] + w[i]) | 0;
      var sum0 = ((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10));
      var maj = (a & b) ^ (a & c) ^ (b & c);
      t2 = (sum0 + maj) | 0;
      h = g;
      g = f;
      f = e;
      e = (d + t1) | 0;
      d = c;
      c = b;
      b = a;
      a = (t1 + t2) | 0;
    }
    s[0] = (s[0] + a) | 0;
    s[1] = (s[1] + b) | 0;
    s[2] = (s[2] + c) | 0;
    s[3] = (s[3] + d) | 0;
    s[4] = (s[4] + e) | 0;
    s[5] = (s[5] + f) | 0;
    s[6] = (s[6] + g) | 0;
    s[7] = (s[7] + h) | 0;
  };

  Sha256.prototype.update = function (bytes) {
    if (this.finished) throw new Error("SHA-256 already finished");
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

  Sha256.prototype.hex = function () {
    if (this.finished) throw new Error("SHA-256 already finished");
    var bitLength = this.totalBytes * 8;
    var padLength = this.blockLength < 56 ? 56 - this.blockLength : 120 - this.blockLength;
    var pad = new Uint8Array(padLength + 8);
    pad[0] = 0x80;
    // Length in bits, big-endian 64-bit (exact up to 2^53 bits).
    var low = bitLength >>> 0;
    var high = Math.floor(bitLength / 4294967296) >>> 0;
    for (var k = 0; k < 4; k++) {
      pad[padLength + 3 - k] = (high >>> (8 * k)) & 0xff;
      pad[padLength + 7 - k] = (low >>> (8 * k)) & 0xff;
    }
    this.update(pad);
    this.finished = true;
    var out = "";
    for (var i = 0; i < 8; i++) out += ("0000000" + (this.state[i] >>> 0).toString(16)).slice(-8);
    return out;
  };

  var api = {
    create: function () {
      return new Sha256();
    },
    hex: function (bytes) {
      return new Sha256().update(bytes).hex();
    },
  };
  root.OpschubSHA256 = api;
  if (typeof module === "object" && module.exports) module.exports = api;
})(typeof globalThis !== "undefined" ? globalThis : this);

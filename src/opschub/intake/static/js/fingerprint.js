/*
 * opschub file fingerprints, computed in the browser: the file itself never leaves the device.
 *
 * Needs, loaded before it: pdq.js, md5.js, sha256.js (plain scripts, no build step, no eval).
 *
 *   OpschubFingerprint.fingerprintFile(file, options?) -> Promise<{
 *     sha256: string|null, md5: string|null,   // lowercase hex of the file's bytes
 *     pdq: string|null, quality: number|null,  // images only: 64 hex digits and 0..100
 *     kind: "image" | "video" | "other",
 *     error?: "cannot-decode" | "empty" | "unreadable",  // then every hash is null
 *     message?: string                          // English detail for logs, never shown as is
 *   }>
 *   options: { onProgress?: function({phase: "image"|"bytes", done: number, total: number}),
 *              chunkSize?: number (bytes, default 4 MiB), maxPixels?: number (see pdq.js) }
 *
 * The promise does not reject for a bad file: it resolves with `error` set, so callers have one
 * path. Kind: image/* and video/* MIME types (or a known file extension when the browser gives
 * no type). An image the browser cannot decode is an error; a file of unknown type that decodes
 * as an image counts as an image; anything else is "other" (hashed, no PDQ).
 */
(function (root) {
  "use strict";

  var DEFAULT_CHUNK = 4 * 1024 * 1024;
  var IMAGE_EXT = /\.(jpe?g|jfif|png|gif|webp|bmp|avif|ico|tiff?|heic|heif)$/i;
  var VIDEO_EXT = /\.(mp4|m4v|mov|webm|mkv|avi|wmv|flv|3gp|3g2|mpe?g|ts|ogv)$/i;

  function mediaKindOf(file) {
    var type = (file.type || "").toLowerCase();
    if (type.indexOf("image/") === 0) return "image";
    if (type.indexOf("video/") === 0) return "video";
    if (type && type !== "application/octet-stream") return "other";
    var name = file.name || "";
    if (IMAGE_EXT.test(name)) return "image";
    if (VIDEO_EXT.test(name)) return "video";
    return "unknown";
  }

  // Reads the file once, in chunks, feeding MD5 and SHA-256; the next chunk is requested before
  // the current one is hashed so reading and hashing overlap.
  async function hashBytes(file, chunkSize, onProgress) {
    var md5 = root.OpschubMD5.create();
    var sha = root.OpschubSHA256.create();
    var total = file.size;
    var readChunk = function (start) {
      return file.slice(start, Math.min(total, start + chunkSize)).arrayBuffer();
    };
    var pending = readChunk(0);
    for (var start = 0; start < total; start += chunkSize) {
      var bytes = new Uint8Array(await pending);
      if (start + chunkSize < total) pending = readChunk(start + chunkSize);
      md5.update(bytes);
      sha.update(bytes);
      if (onProgress) onProgress({ phase: "bytes", done: start + bytes.length, total: total });
    }
    return { md5: md5.hex(), sha256: sha.hex() };
  }

  function describe(error) {
    return String((error && error.message) || error);
  }

  function failure(kind, error, message) {
    return {
      sha256: null,
      md5: null,
      pdq: null,
      quality: null,
      kind: kind,
      error: error,
      message: message,
    };
  }

  async function fingerprintFile(file, options) {
    options = options || {};
    var onProgress = options.onProgress;
    var chunkSize = options.chunkSize || DEFAULT_CHUNK;
    if (!file) return failure("other", "unreadable", "No file was given.");
    var kind = mediaKindOf(file);
    if (file.size === 0) {
      return failure(kind === "unknown" ? "other" : kind, "empty", "The file is empty.");
    }

    var pdq = null;
    var quality = null;
    if (kind === "image" || kind === "unknown") {
      if (onProgress) onProgress({ phase: "image", done: 0, total: 1 });
      try {
        var result = await root.OpschubPDQ.hashImageBlob(file, { maxPixels: options.maxPixels });
        pdq = result.hex;
        quality = result.quality;
        kind = "image";
      } catch (e) {
        if (kind === "image") return failure("image", "cannot-decode", describe(e));
        kind = "other"; // unknown type and not an image the browser can read
      }
      if (onProgress) onProgress({ phase: "image", done: 1, total: 1 });
    }

    var digests;
    try {
      digests = await hashBytes(file, chunkSize, onProgress);
    } catch (e) {
      return failure(kind, "unreadable", describe(e));
    }
    return { sha256: digests.sha256, md5: digests.md5, pdq: pdq, quality: quality, kind: kind };
  }

  root.OpschubFingerprint = { fingerprintFile: fingerprintFile, mediaKindOf: mediaKindOf };
})(typeof globalThis !== "undefined" ? globalThis : this);

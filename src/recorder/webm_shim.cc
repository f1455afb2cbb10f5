/*
 * hotline-recorder: thin C++ shim over libwebm's mkvmuxer.
 *
 * The writer flushes stdio at least once a second so that a killed
 * recorder leaves a file that plays up to its last second or so: the
 * segment and cluster sizes are written as "unknown" until finalized.
 *
 * mkvmuxer holds audio frames back until the next video frame when the
 * file has a video track; when video stops (camera off) this shim forces
 * a new cluster once a second so that audio keeps reaching the disk.
 */

#include <cstdio>
#include <cstring>
#include <ctime>
#include <new>

#include "mkvmuxer/mkvmuxer.h"

#include "webm.h"


namespace {

class RecFileWriter : public mkvmuxer::IMkvWriter {
 public:
  RecFileWriter()
      : file_(NULL), buf_(NULL), pos_(0), size_(0), last_flush_(0) {}
  ~RecFileWriter() override { Close(); }

  bool Open(const char *path) {
    /*
     * fewer write(2) calls, flushed at least once a second anyway; the
     * buffer is ours: glibc ignores the size given with a NULL buffer
     * and wrote every 4 KiB (33 write(2) calls a second for 1 Mbit/s)
     */
    buf_ = new (std::nothrow) char[kBufferSize];
    if (buf_ == NULL) {
      return false;
    }
    file_ = std::fopen(path, "wb+");
    if (file_ == NULL
        || std::setvbuf(file_, buf_, _IOFBF, kBufferSize) != 0) {
      Close();
      return false;
    }
    pos_ = 0;
    return true;
  }

  int Close() {
    int rc = 0;
    if (file_ != NULL) {
      rc = std::fclose(file_);
      file_ = NULL;
    }
    delete[] buf_;
    buf_ = NULL;
    return rc;
  }

  mkvmuxer::int32 Write(const void *buf, mkvmuxer::uint32 len) override {
    if (file_ == NULL) {
      return -1;
    }
    if (len == 0) {
      return 0;
    }
    if (std::fwrite(buf, 1, len, file_) != len) {
      return -1;
    }
    pos_ += len;
    if (pos_ > size_) {
      size_ = pos_;
    }
    return 0;
  }

  mkvmuxer::int64 Size() const { return size_; }

  /* kept here: ftell() costs an lseek(2) and mkvmuxer asks often */
  mkvmuxer::int64 Position() const override {
    return file_ ? pos_ : -1;
  }

  mkvmuxer::int32 Position(mkvmuxer::int64 position) override {
    if (file_ == NULL || std::fseek(file_, position, SEEK_SET) != 0) {
      return -1;
    }
    pos_ = position;
    return 0;
  }

  bool Seekable() const override { return true; }

  void ElementStartNotify(mkvmuxer::uint64, mkvmuxer::int64) override {}

  int Flush(bool force) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    if (!force && ts.tv_sec == last_flush_) {
      return 0;
    }
    last_flush_ = ts.tv_sec;
    return file_ && std::fflush(file_) == 0 ? 0 : -1;
  }

 private:
  static const size_t kBufferSize = 65536;
  FILE *file_;
  char *buf_;
  mkvmuxer::int64 pos_;
  mkvmuxer::int64 size_;
  time_t last_flush_;
};

}  // namespace


struct rec_webm_s {
  RecFileWriter writer;
  mkvmuxer::Segment segment;
  uint64_t audio;
  uint64_t video;
  uint64_t last_video_ns;
  uint64_t last_forced_ns;
  bool started;
};


extern "C" rec_webm_t *
rec_webm_open(const char *path)
{
  rec_webm_t *w = new (std::nothrow) rec_webm_t();
  if (w == NULL) {
    return NULL;
  }

  w->audio = 0;
  w->video = 0;
  w->last_video_ns = 0;
  w->last_forced_ns = 0;
  w->started = false;

  if (!w->writer.Open(path) || !w->segment.Init(&w->writer)) {
    delete w;
    return NULL;
  }

  w->segment.set_mode(mkvmuxer::Segment::kFile);
  w->segment.OutputCues(true);
  w->segment.set_max_cluster_duration(2000000000ULL);

  mkvmuxer::SegmentInfo *info = w->segment.GetSegmentInfo();
  info->set_writing_app("hotline-recorder");
  info->set_muxing_app("hotline-recorder (libwebm)");

  return w;
}


extern "C" uint64_t
rec_webm_add_opus(rec_webm_t *w, unsigned channels, unsigned pre_skip)
{
  unsigned char head[19];

  uint64_t n = w->segment.AddAudioTrack(48000, (int) channels, 0);
  if (n == 0) {
    return 0;
  }

  mkvmuxer::AudioTrack *t =
      static_cast<mkvmuxer::AudioTrack *>(w->segment.GetTrackByNumber(n));

  /* RFC 7845 identification header */
  std::memcpy(head, "OpusHead", 8);
  head[8] = 1;
  head[9] = (unsigned char) channels;
  head[10] = (unsigned char) (pre_skip & 0xff);
  head[11] = (unsigned char) (pre_skip >> 8);
  head[12] = 0x80;          /* 48000 little endian */
  head[13] = 0xbb;
  head[14] = 0;
  head[15] = 0;
  head[16] = 0;             /* output gain */
  head[17] = 0;
  head[18] = 0;             /* channel mapping family */

  if (!t->SetCodecPrivate(head, sizeof(head))) {
    return 0;
  }

  t->set_codec_id(mkvmuxer::Tracks::kOpusCodecId);
  t->set_bit_depth(16);
  t->set_codec_delay((uint64_t) pre_skip * 1000000000ULL / 48000);
  t->set_seek_pre_roll(80000000ULL);

  w->audio = n;

  return n;
}


extern "C" uint64_t
rec_webm_add_vp8(rec_webm_t *w, unsigned width, unsigned height)
{
  uint64_t n = w->segment.AddVideoTrack((int) width, (int) height, 0);
  if (n == 0) {
    return 0;
  }

  mkvmuxer::VideoTrack *t =
      static_cast<mkvmuxer::VideoTrack *>(w->segment.GetTrackByNumber(n));
  t->set_codec_id(mkvmuxer::Tracks::kVp8CodecId);

  w->video = n;
  w->segment.CuesTrack(n);

  return n;
}


extern "C" int
rec_webm_write(rec_webm_t *w, uint64_t track, const unsigned char *data,
    size_t len, uint64_t ts_ns, int key)
{
  if (track == w->video) {
    w->last_video_ns = ts_ns;

  } else if (w->video != 0 && ts_ns > w->last_video_ns + 1000000000ULL
             && ts_ns > w->last_forced_ns + 1000000000ULL)
  {
    w->segment.ForceNewClusterOnNextFrame();
    w->last_forced_ns = ts_ns;
  }

  if (!w->segment.AddFrame(data, len, track, ts_ns, key != 0)) {
    return -1;
  }

  w->started = true;

  return w->writer.Flush(false);
}


extern "C" int
rec_webm_flush(rec_webm_t *w)
{
  return w->writer.Flush(true);
}


extern "C" uint64_t
rec_webm_size(rec_webm_t *w)
{
  return (uint64_t) w->writer.Size();
}


extern "C" void
rec_webm_set_duration(rec_webm_t *w, uint64_t ns)
{
  /* in TimecodeScale units (ms) */
  w->segment.set_duration((double) ns / 1e6);
}


extern "C" int
rec_webm_close(rec_webm_t *w, uint64_t *size)
{
  int rc = 0;

  if (w->started && !w->segment.Finalize()) {
    rc = -1;
  }

  *size = (uint64_t) w->writer.Size();

  if (w->writer.Close() != 0) {
    rc = -1;
  }

  delete w;

  return rc;
}

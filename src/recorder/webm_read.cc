/*
 * hotline-recorder: reading the frames of a WebM file with libwebm's
 * mkvparser, in file order, for the jobs that finalize a file left by a
 * killed recorder and merge a call's files.
 *
 * A file that was never finalized has segment and cluster sizes
 * "unknown" and may end in the middle of a block: reading stops at the
 * last complete frame, which is what was on disk.
 */

#include <cstdio>
#include <cstring>
#include <new>
#include <vector>

#include "mkvparser/mkvparser.h"
#include "mkvparser/mkvreader.h"

#include "webm.h"


struct rec_webm_reader_s {
  mkvparser::MkvReader reader;
  mkvparser::Segment *segment;
  const mkvparser::Cluster *cluster;
  const mkvparser::BlockEntry *entry;
  int frame;
  long long audio;
  long long video;
  std::vector<unsigned char> buf;
};


static void
rec_webm_read_tracks(rec_webm_reader_t *r, rec_webm_info_t *info)
{
  const mkvparser::Tracks *tracks = r->segment->GetTracks();

  std::memset(info, 0, sizeof(rec_webm_info_t));

  if (tracks == NULL) {
    return;
  }

  for (unsigned long i = 0; i < tracks->GetTracksCount(); i++) {
    const mkvparser::Track *t = tracks->GetTrackByIndex(i);

    if (t == NULL || t->GetCodecId() == NULL) {
      continue;
    }

    if (t->GetType() == mkvparser::Track::kAudio && r->audio < 0
        && std::strcmp(t->GetCodecId(), "A_OPUS") == 0)
    {
      const mkvparser::AudioTrack *a =
          static_cast<const mkvparser::AudioTrack *>(t);
      r->audio = t->GetNumber();
      info->has_audio = 1;
      info->channels = (unsigned) a->GetChannels();

    } else if (t->GetType() == mkvparser::Track::kVideo && r->video < 0
               && std::strcmp(t->GetCodecId(), "V_VP8") == 0)
    {
      const mkvparser::VideoTrack *v =
          static_cast<const mkvparser::VideoTrack *>(t);
      r->video = t->GetNumber();
      info->has_video = 1;
      info->width = (unsigned) v->GetWidth();
      info->height = (unsigned) v->GetHeight();
    }
  }
}


extern "C" rec_webm_reader_t *
rec_webm_read_open(const char *path, rec_webm_info_t *info)
{
  long long pos = 0;
  mkvparser::EBMLHeader ebml;

  rec_webm_reader_t *r = new (std::nothrow) rec_webm_reader_t();
  if (r == NULL) {
    return NULL;
  }

  r->segment = NULL;
  r->cluster = NULL;
  r->entry = NULL;
  r->frame = 0;
  r->audio = -1;
  r->video = -1;

  if (r->reader.Open(path) != 0 || ebml.Parse(&r->reader, pos) < 0
      || mkvparser::Segment::CreateInstance(&r->reader, pos, r->segment) != 0
      || r->segment == NULL || r->segment->ParseHeaders() < 0)
  {
    rec_webm_read_close(r);
    return NULL;
  }

  rec_webm_read_tracks(r, info);

  return r;
}


/* the next block entry of the file, NULL at its end */

static const mkvparser::BlockEntry *
rec_webm_read_entry(rec_webm_reader_t *r)
{
  for ( ;; ) {
    if (r->cluster == NULL) {
      if (r->segment->LoadCluster() != 0) {
        return NULL;
      }

      r->cluster = r->segment->GetFirst();

    } else if (r->entry == NULL) {
      const mkvparser::Cluster *next = r->segment->GetNext(r->cluster);

      /* clusters of unknown size are loaded one at a time */

      if ((next == NULL || next->EOS()) && r->segment->LoadCluster() == 0) {
        next = r->segment->GetNext(r->cluster);
      }

      r->cluster = next;
    }

    if (r->cluster == NULL || r->cluster->EOS()) {
      return NULL;
    }

    long rc = r->entry == NULL ? r->cluster->GetFirst(r->entry)
                               : r->cluster->GetNext(r->entry, r->entry);

    if (rc < 0) {
      return NULL;            /* a truncated cluster: the end */
    }

    if (r->entry != NULL && !r->entry->EOS()) {
      return r->entry;
    }

    r->entry = NULL;          /* on to the next cluster */
  }
}


extern "C" int
rec_webm_read_next(rec_webm_reader_t *r, rec_webm_frame_t *f)
{
  for ( ;; ) {
    const mkvparser::Block *b = r->entry != NULL ? r->entry->GetBlock()
                                                 : NULL;

    if (b == NULL || r->frame >= b->GetFrameCount()) {
      r->frame = 0;

      if (rec_webm_read_entry(r) == NULL) {
        return 0;
      }

      continue;
    }

    const mkvparser::Block::Frame &fr = b->GetFrame(r->frame++);
    long long track = b->GetTrackNumber();

    if (track != r->audio && track != r->video) {
      continue;
    }

    if (fr.len <= 0 || fr.len > 16 * 1024 * 1024) {
      return -1;
    }

    r->buf.resize((size_t) fr.len);

    if (fr.Read(&r->reader, r->buf.data()) < 0) {
      return 0;               /* past what was written */
    }

    f->video = track == r->video;
    f->key = b->IsKey();
    f->ts_ns = (uint64_t) b->GetTime(r->cluster);
    f->data = r->buf.data();
    f->len = (size_t) fr.len;

    return 1;
  }
}


extern "C" void
rec_webm_read_close(rec_webm_reader_t *r)
{
  if (r == NULL) {
    return;
  }

  delete r->segment;
  r->reader.Close();
  delete r;
}

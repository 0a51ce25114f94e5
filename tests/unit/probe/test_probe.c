/*
 * test_probe.c - the audio/video probe (src/probe/): each container's
 * duration and frame size agree with ffprobe on files ffmpeg makes at test
 * time (within 0.05 s, 0.1 s for MP3; sizes exact), and every lie is a 500
 * with a sentence: truncated copies of each file, patched durations of
 * 10^18 s, a zero timescale, a box past the end, a type that disagrees with
 * the magic bytes, a streamed WebM without Duration.  Synthetic files of
 * a terabyte made only of tiny boxes show the read bound holds.  Says
 * "skipped" for the ffmpeg tests when ffmpeg or ffprobe is not installed.
 */
#include <dirent.h>
#include <fcntl.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "check.h"
#include "tessera/media.h"

static char dir[] = "/tmp/ts_probe_XXXXXX";

/* ---- readers ---- */

/* A file in memory; counts every byte asked for. */
struct mem {
	const unsigned char *b;
	size_t n;
	uint64_t asked;
};

static ts_status mem_read(void *ctx, uint64_t off, void *buf, size_t n, size_t *got,
                          struct ts_error *err)
{
	struct mem *m = ctx;

	m->asked += n;
	*got = 0;
	if (off >= m->n)
		return TS_OK;
	*got = m->n - off < n ? (size_t)(m->n - off) : n;
	memcpy(buf, m->b + off, *got);
	return TS_OK;
}

static ts_status probe_mem(const unsigned char *b, size_t n, const char *mime,
                           struct ts_media_info *info, struct ts_error *err,
                           uint64_t *asked)
{
	struct mem m = { b, n, 0 };
	struct ts_media_reader rd = { mem_read, &m, n };
	ts_status st;

	ts_error_clear(err);
	st = ts_media_probe(&rd, mime, info, err);
	EXPECT(m.asked <= TS_MEDIA_PROBE_MAX_READ);
	EXPECT_EQ_INT(err->status, st);
	if (st != TS_OK)
		EXPECT(err->msg[0] != '\0');
	if (asked)
		*asked = m.asked;
	return st;
}

/* ---- files ---- */

static unsigned char *slurp(const char *path, size_t *n)
{
	FILE *f = fopen(path, "rb");
	unsigned char *b;
	long len;

	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	len = ftell(f);
	fseek(f, 0, SEEK_SET);
	b = malloc(len > 0 ? (size_t)len : 1);
	if (b && fread(b, 1, (size_t)len, f) != (size_t)len) {
		free(b);
		b = NULL;
	}
	fclose(f);
	*n = (size_t)len;
	return b;
}

static unsigned char *find(unsigned char *b, size_t n, const char *what, size_t len)
{
	return memmem(b, n, what, len);
}

static const char *path_of(const char *name)
{
	static char paths[4][300];
	static int slot;
	char *p = paths[slot++ % 4];
	snprintf(p, 300, "%s/%s", dir, name);
	return p;
}

static bool spit(const char *name, const unsigned char *b, size_t n)
{
	FILE *f = fopen(path_of(name), "wb");
	bool ok = f && fwrite(b, 1, n, f) == n;
	if (f)
		fclose(f);
	return ok;
}

#define AUDIO "-f lavfi -i sine=frequency=440:duration=2.5"
#define VIDEO "-f lavfi -i testsrc=size=320x240:rate=25:duration=3"
#define VIDEO2 "-f lavfi -i testsrc=size=176x144:rate=30:duration=1.7"

/* The files ffmpeg makes: name, what to publish them as, ffmpeg arguments. */
static const struct made {
	const char *name, *mime, *args;
	double tolerance;
} made[] = {
	{ "cbr.mp3", "audio/mpeg", AUDIO " -c:a libmp3lame -b:a 128k -write_xing 0", 0.1 },
	{ "info.mp3", "audio/mpeg", AUDIO " -c:a libmp3lame -b:a 128k", 0.1 },
	{ "vbr.mp3", "audio/mpeg", AUDIO " -c:a libmp3lame -q:a 4", 0.1 },
	{ "mono22k.mp3", "audio/mpeg", AUDIO " -ac 1 -ar 22050 -c:a libmp3lame -q:a 6", 0.1 },
	{ "stereo.mp3", "audio/mpeg", AUDIO " -ac 2 -c:a libmp3lame -q:a 2", 0.1 },
	{ "mpeg25.mp3", "audio/mpeg", AUDIO " -ac 1 -ar 8000 -c:a libmp3lame -b:a 16k "
	  "-write_xing 0", 0.1 },
	{ "opus.opus", "audio/ogg", AUDIO " -c:a libopus", 0.05 },
	{ "vorbis.ogg", "audio/ogg", AUDIO " -c:a libvorbis", 0.05 },
	{ "flac.oga", "audio/ogg", AUDIO " -c:a flac", 0.05 },
	{ "native.flac", "audio/flac", AUDIO " -c:a flac", 0.05 },
	{ "pcm.wav", "audio/wav", AUDIO " -c:a pcm_s16le", 0.05 },
	{ "rf64.wav", "audio/wav", AUDIO " -c:a pcm_s16le -rf64 always", 0.05 },
	{ "aac.m4a", "audio/mp4", AUDIO " -c:a aac", 0.05 },
	{ "fast.mp4", "video/mp4", VIDEO " " AUDIO " -c:v libx264 -preset ultrafast -c:a aac "
	  "-shortest -movflags +faststart", 0.05 },
	{ "slow.mp4", "video/mp4", VIDEO " " AUDIO " -c:v libx264 -preset ultrafast -c:a aac", 0.05 },
	{ "small.mp4", "video/mp4", VIDEO2 " -c:v mpeg4", 0.05 },
	{ "frag.mp4", "video/mp4", VIDEO " " AUDIO " -c:v libx264 -preset ultrafast -c:a aac "
	  "-movflags frag_keyframe+empty_moov", 0.05 },
	{ "frag.m4a", "audio/mp4", AUDIO " -c:a aac -movflags frag_keyframe+empty_moov+"
	  "default_base_moof -frag_duration 500000", 0.05 },
	{ "vonly.mov", "video/mp4", VIDEO " -c:v mpeg4", 0.05 },
	{ "vp8.webm", "video/webm", VIDEO " " AUDIO " -c:v libvpx -c:a libopus", 0.05 },
	{ "vp9.webm", "video/webm", VIDEO2 " " AUDIO " -c:v libvpx-vp9 -deadline realtime "
	  "-c:a libvorbis", 0.05 },
	{ "opus.webm", "video/webm", AUDIO " -c:a libopus", 0.05 },
	{ "mkv.webm", "video/webm", VIDEO2 " " AUDIO " -c:v libx264 -preset ultrafast -c:a aac "
	  "-f matroska", 0.05 },
	{ "theora.ogv", "video/ogg", VIDEO " " AUDIO " -c:v libtheora -c:a libvorbis", 0.05 },
	{ "theora2.ogv", "video/ogg", VIDEO2 " -c:v libtheora", 0.05 },
};
#define NMADE (sizeof made / sizeof made[0])

/* What ffprobe says about a file: duration (< 0 for N/A), first video
 * stream's size, whether there is audio. */
struct truth {
	bool ok;
	double duration;
	uint32_t width, height;
	bool video, audio;
};

static struct truth truths[NMADE];
static bool have_ffmpeg;

static struct truth ffprobe(const char *path)
{
	struct truth t;
	char cmd[512], line[256];
	FILE *f;

	memset(&t, 0, sizeof t);
	t.duration = -1;
	snprintf(cmd, sizeof cmd, "ffprobe -v error -show_entries "
	         "format=duration:stream=width,height,codec_type -of csv=p=0 '%s'", path);
	f = popen(cmd, "r");
	if (!f)
		return t;
	while (fgets(line, sizeof line, f)) {
		unsigned w, h;
		if (sscanf(line, "video,%u,%u", &w, &h) == 2) {
			if (!t.video)
				t.width = w, t.height = h;
			t.video = true;
		} else if (strncmp(line, "audio", 5) == 0) {
			t.audio = true;
		} else if (line[0] >= '0' && line[0] <= '9') {
			t.duration = strtod(line, NULL);
		}
	}
	t.ok = pclose(f) == 0;
	return t;
}

static bool ffmpeg_make(const char *name, const char *args)
{
	char cmd[1024];

	snprintf(cmd, sizeof cmd, "ffmpeg -nostdin -y -v error %s '%s' 2>/dev/null", args,
	         path_of(name));
	return system(cmd) == 0;
}

static ts_status probe_path(const char *path, const char *mime, struct ts_media_info *info,
                            struct ts_error *err)
{
	struct stat sb;
	int fd = open(path, O_RDONLY);
	ts_status st;

	ts_error_clear(err);
	memset(info, 0, sizeof *info);
	if (fd < 0 || fstat(fd, &sb) != 0) {
		EXPECT(!"the file opens");
		if (fd >= 0)
			close(fd);
		return -1;
	}
	st = ts_media_probe_fd(fd, (uint64_t)sb.st_size, mime, info, err);
	/* pread only: the descriptor's offset never moves */
	EXPECT_EQ_INT(lseek(fd, 0, SEEK_CUR), 0);
	close(fd);
	return st;
}

static int made_index(const char *name)
{
	for (size_t i = 0; i < NMADE; i++)
		if (strcmp(made[i].name, name) == 0)
			return (int)i;
	return -1;
}

/* Probe a made file and compare with ffprobe. */
static void agrees_with_ffprobe(const char *name)
{
	int i = made_index(name);
	struct ts_media_info info;
	struct ts_error err;
	ts_status st;

	if (i < 0 || !truths[i].ok) {
		printf("    %s: ffmpeg could not make it\n", name);
		EXPECT(!"the file was made");
		return;
	}
	st = probe_path(path_of(name), made[i].mime, &info, &err);
	if (st != TS_OK) {
		printf("    %s: %d %s\n", name, st, err.msg);
		EXPECT_EQ_INT(st, TS_OK);
		return;
	}
	printf("    %-12s probe %.4f s %ux%u, ffprobe %.4f s %ux%u\n", name, info.duration,
	       info.width, info.height, truths[i].duration, truths[i].width, truths[i].height);
	EXPECT(fabs(info.duration - truths[i].duration) <= made[i].tolerance);
	EXPECT_EQ_INT(info.has_video, truths[i].video);
	EXPECT_EQ_INT(info.has_audio, truths[i].audio);
	EXPECT_EQ_INT(info.width, truths[i].width);
	EXPECT_EQ_INT(info.height, truths[i].height);
}

/* ---- tests against ffprobe ---- */

static void cbr_mp3_without_a_tag_is_timed_by_its_bit_rate(void)
{
	agrees_with_ffprobe("cbr.mp3");
}

static void mp3_with_an_info_or_xing_tag_is_timed_by_its_frame_count(void)
{
	agrees_with_ffprobe("info.mp3");
	agrees_with_ffprobe("vbr.mp3");
	agrees_with_ffprobe("mono22k.mp3");
	agrees_with_ffprobe("stereo.mp3");
}

static void mpeg_2_5_cbr_mp3_is_timed_by_its_bit_rate(void)
{
	agrees_with_ffprobe("mpeg25.mp3");
}

/* LAME writes no VBRI frame, so the Xing frame of an MPEG-1 stereo file
 * (its tag 36 bytes in, where VBRI goes) is rewritten as one.  (The sine
 * source is mono, so the other files' Xing tags sit 21 bytes in.) */
static void mp3_with_a_vbri_frame_is_timed_by_its_frame_count(void)
{
	size_t n;
	unsigned char *a = slurp(path_of("stereo.mp3"), &n), *x;
	struct ts_media_info info;
	struct ts_error err;
	uint32_t frames;

	x = a ? find(a, n, "Xing", 4) : NULL;
	EXPECT(x != NULL && x - a >= 36 && x[-36] == 0xFF);
	if (x && x - a >= 36) {
		EXPECT(x[7] & 1);
		frames = (uint32_t)x[8] << 24 | (uint32_t)x[9] << 16 | (uint32_t)x[10] << 8 | x[11];
		memset(x, 0, 40);
		memcpy(x, "VBRI\0\x01", 6);
		x[14] = (unsigned char)(frames >> 24), x[15] = (unsigned char)(frames >> 16);
		x[16] = (unsigned char)(frames >> 8), x[17] = (unsigned char)frames;
		EXPECT(spit("vbri.mp3", a, n));
		struct truth t = ffprobe(path_of("vbri.mp3"));
		EXPECT_EQ_INT(probe_path(path_of("vbri.mp3"), "audio/mpeg", &info, &err), TS_OK);
		printf("    vbri.mp3     probe %.4f s, ffprobe %.4f s\n", info.duration, t.duration);
		EXPECT(fabs(info.duration - t.duration) <= 0.1);
		EXPECT(fabs(info.duration - (double)frames * 1152 / 44100) < 1e-9);
	}
	free(a);
}

static void mp3_behind_a_big_id3v2_tag_is_timed_by_its_audio(void)
{
	/* a 300000-byte ID3v2.4 tag (one PRIV frame, then padding) with a
	 * footer, in front of the CBR and the VBR file */
	static const char *names[] = { "cbr.mp3", "vbr.mp3" };
	for (int k = 0; k < 2; k++) {
		size_t n, tag = 300000, body = tag - 10 - 10, frame = 1000;
		unsigned char *a = slurp(path_of(names[k]), &n);
		unsigned char *b = calloc(1, n + tag);
		char out[32];
		int i = made_index(names[k]);
		struct ts_media_info info;
		struct ts_error err;

		if (!a || !b) {
			EXPECT(!"read the file");
			free(a), free(b);
			return;
		}
		memcpy(b, "ID3\x04\x00\x10", 6);
		b[6] = (unsigned char)(body >> 21 & 0x7F), b[7] = (unsigned char)(body >> 14 & 0x7F);
		b[8] = (unsigned char)(body >> 7 & 0x7F), b[9] = (unsigned char)(body & 0x7F);
		memcpy(b + 10, "PRIV", 4);
		b[14] = 0, b[15] = (unsigned char)(frame >> 14 & 0x7F);
		b[16] = (unsigned char)(frame >> 7 & 0x7F), b[17] = (unsigned char)(frame & 0x7F);
		memcpy(b + 20, "tessera", 8);
		memcpy(b + tag - 10, "3DI\x04\x00\x10", 6);
		memcpy(b + tag - 4, b + 6, 4);
		memcpy(b + tag, a, n);
		snprintf(out, sizeof out, "id3_%s", names[k]);
		EXPECT(spit(out, b, n + tag));
		struct truth t = ffprobe(path_of(out));
		EXPECT_EQ_INT(probe_path(path_of(out), "audio/mpeg", &info, &err), TS_OK);
		printf("    %-12s probe %.4f s, ffprobe %.4f s\n", out, info.duration, t.duration);
		EXPECT(fabs(info.duration - t.duration) <= 0.1);
		EXPECT(fabs(info.duration - truths[i].duration) <= 0.1);
		free(a), free(b);
	}
}

static void ogg_opus_vorbis_and_flac_are_timed_by_the_last_granule(void)
{
	agrees_with_ffprobe("opus.opus");
	agrees_with_ffprobe("vorbis.ogg");
	agrees_with_ffprobe("flac.oga");
}

static void native_flac_is_timed_by_streaminfo(void)
{
	agrees_with_ffprobe("native.flac");
}

static void wav_and_rf64_are_timed_by_the_data_chunk(void)
{
	agrees_with_ffprobe("pcm.wav");
	agrees_with_ffprobe("rf64.wav");
}

static void wav_still_streaming_runs_to_the_end_of_the_file(void)
{
	size_t n;
	unsigned char *a = slurp(path_of("pcm.wav"), &n);
	struct ts_media_info info, full;
	struct ts_error err;
	unsigned char *d;

	if (!a) {
		EXPECT(!"read the file");
		return;
	}
	EXPECT_EQ_INT(probe_mem(a, n, "audio/wav", &full, &err, NULL), TS_OK);
	d = memmem(a, n, "data", 4);
	EXPECT(d != NULL);
	if (d) {
		memset(d + 4, 0xFF, 4);
		EXPECT_EQ_INT(probe_mem(a, n, "audio/wav", &info, &err, NULL), TS_OK);
		EXPECT(fabs(info.duration - full.duration) < 0.001);
		/* and a data chunk claiming more than there is, a lie */
		d[4] = 0xF0, d[5] = 0xFF, d[6] = 0xFF, d[7] = 0x0F;
		EXPECT_EQ_INT(probe_mem(a, n, "audio/wav", &info, &err, NULL), 500);
	}
	free(a);
}

static void mp4_with_its_index_first_or_last_gives_size_and_duration(void)
{
	agrees_with_ffprobe("fast.mp4");
	agrees_with_ffprobe("slow.mp4");
	agrees_with_ffprobe("small.mp4");
	agrees_with_ffprobe("vonly.mov");
}

static void fragmented_mp4_is_timed_by_its_last_fragment(void)
{
	agrees_with_ffprobe("frag.mp4");
	agrees_with_ffprobe("frag.m4a");
}

static void audio_only_mp4_has_no_video(void)
{
	struct ts_media_info info;
	struct ts_error err;

	agrees_with_ffprobe("aac.m4a");
	/* published as video/mp4 (an .mp4 with sound only) it is still Sound */
	EXPECT_EQ_INT(probe_path(path_of("aac.m4a"), "video/mp4", &info, &err), TS_OK);
	EXPECT(!info.has_video && info.has_audio);
	EXPECT_EQ_INT(info.width, 0);
}

static void webm_vp8_vp9_and_audio_only_agree(void)
{
	agrees_with_ffprobe("vp8.webm");
	agrees_with_ffprobe("vp9.webm");
	agrees_with_ffprobe("opus.webm");
}

static void webm_segment_of_unknown_size_still_gives_its_duration(void)
{
	size_t n;
	unsigned char *a = slurp(path_of("vp8.webm"), &n), *seg;
	struct ts_media_info info;
	struct ts_error err;
	int i = made_index("vp8.webm");

	seg = a ? find(a, n, "\x18\x53\x80\x67\x01", 5) : NULL;
	EXPECT(seg != NULL);
	if (seg) {
		memset(seg + 5, 0xFF, 7);   /* 8-byte size, all ones: unknown */
		EXPECT_EQ_INT(probe_mem(a, n, "video/webm", &info, &err, NULL), TS_OK);
		EXPECT(fabs(info.duration - truths[i].duration) <= 0.05);
		EXPECT_EQ_INT(info.width, 320);
	}
	free(a);
}

static void matroska_doctype_in_a_webm_name_is_read_too(void)
{
	agrees_with_ffprobe("mkv.webm");
}

static void ogv_theora_gives_frame_size_and_duration(void)
{
	agrees_with_ffprobe("theora.ogv");
	agrees_with_ffprobe("theora2.ogv");
}

/* ---- lies and damage ---- */

static void webm_without_duration_asks_for_the_sidecar(void)
{
	size_t n;
	unsigned char *a = slurp(path_of("vp8.webm"), &n), *d;
	struct ts_media_info info;
	struct ts_error err;

	if (!a) {
		EXPECT(!"read the file");
		return;
	}
	/* Duration (0x4489, size 8) becomes a Void element of the same length */
	d = find(a, n, "\x44\x89\x88", 3);
	EXPECT(d != NULL);
	if (d) {
		d[0] = 0xEC, d[1] = 0x89;
		memset(d + 2, 0, 9);
		EXPECT_EQ_INT(probe_mem(a, n, "video/webm", &info, &err, NULL), 500);
		EXPECT(strstr(err.msg, "Duration") && strstr(err.msg, "sidecar"));
	}
	free(a);

	/* written to a pipe: unknown sizes, no Duration */
	char args[512];
	snprintf(args, sizeof args, "%s -c:v libvpx -f webm - > '%s'", VIDEO,
	         path_of("live.webm"));
	char cmd[700];
	snprintf(cmd, sizeof cmd, "ffmpeg -nostdin -v error %s 2>/dev/null", args);
	EXPECT(system(cmd) == 0);
	EXPECT_EQ_INT(probe_path(path_of("live.webm"), "video/webm", &info, &err), 500);
	EXPECT(strstr(err.msg, "sidecar") != NULL);
}

static uint32_t ogg_crc(const unsigned char *b, size_t n);

/* Set an Ogg page's granule and make its CRC right again. */
static void ogg_page_regranule(unsigned char *page, size_t len, uint64_t g)
{
	uint32_t crc;
	for (int k = 0; k < 8; k++)
		page[6 + k] = (unsigned char)(g >> (8 * k));
	memset(page + 22, 0, 4);
	crc = ogg_crc(page, len);
	for (int k = 0; k < 4; k++)
		page[22 + k] = (unsigned char)(crc >> (8 * k));
}

static void patched_huge_durations_are_refused(void)
{
	struct ts_media_info info;
	struct ts_error err;
	size_t n;
	unsigned char *a, *d;

	/* MP4: mvhd timescale 1, duration 0xFFFFFFF0 (version 0) */
	a = slurp(path_of("slow.mp4"), &n);
	d = a ? find(a, n, "mvhd", 4) : NULL;
	EXPECT(d != NULL && d[4] == 0);
	if (d) {
		memcpy(d + 4 + 12, "\x00\x00\x00\x01\xFF\xFF\xFF\xF0", 8);
		EXPECT_EQ_INT(probe_mem(a, n, "video/mp4", &info, &err, NULL), 500);
		EXPECT(strstr(err.msg, "duration") != NULL);
		/* a zero timescale */
		memcpy(d + 4 + 12, "\x00\x00\x00\x00", 4);
		EXPECT_EQ_INT(probe_mem(a, n, "video/mp4", &info, &err, NULL), 500);
		EXPECT(strstr(err.msg, "timescale") != NULL);
	}
	free(a);

	/* WebM: Duration 1e21 (ms): 10^18 s */
	a = slurp(path_of("vp8.webm"), &n);
	d = a ? find(a, n, "\x44\x89\x88", 3) : NULL;
	EXPECT(d != NULL);
	if (d) {
		double v = 1e21;
		uint64_t u;
		memcpy(&u, &v, 8);
		for (int k = 0; k < 8; k++)
			d[3 + k] = (unsigned char)(u >> (56 - 8 * k));
		EXPECT_EQ_INT(probe_mem(a, n, "video/webm", &info, &err, NULL), 500);
		v = NAN;
		memcpy(&u, &v, 8);
		for (int k = 0; k < 8; k++)
			d[3 + k] = (unsigned char)(u >> (56 - 8 * k));
		EXPECT_EQ_INT(probe_mem(a, n, "video/webm", &info, &err, NULL), 500);
	}
	free(a);

	/* MP3: a Xing frame count of 0xFFFFFFFF */
	a = slurp(path_of("vbr.mp3"), &n);
	d = a ? find(a, n, "Xing", 4) : NULL;
	EXPECT(d != NULL);
	if (d) {
		memset(d + 8, 0xFF, 4);
		EXPECT_EQ_INT(probe_mem(a, n, "audio/mpeg", &info, &err, NULL), 500);
	}
	free(a);

	/* Ogg Vorbis: the last page's granule at 2^62 samples */
	a = slurp(path_of("vorbis.ogg"), &n);
	if (a) {
		unsigned char *last = NULL;
		for (size_t k = 0; k + 27 < n; k++)
			if (memcmp(a + k, "OggS", 4) == 0)
				last = a + k;
		EXPECT(last != NULL);
		if (last) {
			size_t len = (size_t)(a + n - last);
			ogg_page_regranule(last, len, 1ull << 62);
			EXPECT_EQ_INT(probe_mem(a, n, "audio/ogg", &info, &err, NULL), 500);
			/* and a granule of 0: no duration at all */
			ogg_page_regranule(last, len, 0);
			EXPECT_EQ_INT(probe_mem(a, n, "audio/ogg", &info, &err, NULL), 500);
		}
	}
	free(a);

	/* WAV: a byte rate of zero */
	a = slurp(path_of("pcm.wav"), &n);
	d = a ? find(a, n, "fmt ", 4) : NULL;
	EXPECT(d != NULL);
	if (d) {
		memset(d + 8 + 8, 0, 4);
		EXPECT_EQ_INT(probe_mem(a, n, "audio/wav", &info, &err, NULL), 500);
	}
	free(a);

	/* FLAC: a sample rate of 1 Hz and 2^36 - 1 samples */
	a = slurp(path_of("native.flac"), &n);
	if (a && n > 42) {
		unsigned char *si = a + 8;
		si[10] = 0, si[11] = 0, si[12] = (unsigned char)(0x10 | (si[12] & 0x0F));
		si[13] |= 0x0F;
		memset(si + 14, 0xFF, 4);
		EXPECT_EQ_INT(probe_mem(a, n, "audio/flac", &info, &err, NULL), 500);
		/* and 0 samples: unknown */
		si[13] &= 0xF0;
		memset(si + 14, 0, 4);
		EXPECT_EQ_INT(probe_mem(a, n, "audio/flac", &info, &err, NULL), 500);
		EXPECT(strstr(err.msg, "sidecar") != NULL);
	}
	free(a);
}

static void a_box_past_the_end_of_the_file_is_refused(void)
{
	struct ts_media_info info;
	struct ts_error err;
	size_t n;
	unsigned char *a = slurp(path_of("fast.mp4"), &n), *d;

	d = a ? find(a, n, "moov", 4) : NULL;
	EXPECT(d != NULL);
	if (d) {
		memcpy(d - 4, "\x7F\xFF\xFF\xFF", 4);
		EXPECT_EQ_INT(probe_mem(a, n, "video/mp4", &info, &err, NULL), 500);
		/* a 64-bit size of 2^63 */
		memcpy(d - 4, "\x00\x00\x00\x01", 4);
		memcpy(d + 4, "\x80\x00\x00\x00\x00\x00\x00\x00", 8);
		EXPECT_EQ_INT(probe_mem(a, n, "video/mp4", &info, &err, NULL), 500);
	}
	free(a);
}

static void a_type_that_disagrees_with_the_magic_is_refused(void)
{
	static const struct { const char *name, *mime; } wrong[] = {
		{ "opus.opus", "audio/mpeg" }, { "cbr.mp3", "audio/ogg" },
		{ "pcm.wav", "video/mp4" }, { "vp8.webm", "audio/flac" },
		{ "fast.mp4", "video/webm" }, { "native.flac", "audio/wav" },
		{ "theora.ogv", "audio/mp4" },
	};
	struct ts_media_info info;
	struct ts_error err;

	for (size_t k = 0; k < sizeof wrong / sizeof wrong[0]; k++) {
		EXPECT_EQ_INT(probe_path(path_of(wrong[k].name), wrong[k].mime, &info, &err), 500);
		EXPECT(strstr(err.msg, wrong[k].mime) != NULL);
	}
	/* a type with no parser */
	EXPECT_EQ_INT(probe_path(path_of("pcm.wav"), "image/png", &info, &err), 501);
	EXPECT_EQ_INT(probe_path(path_of("pcm.wav"), NULL, &info, &err), 501);
}

/* Every prefix of the first KB, then 64 more: a clean 500 or a duration no
 * longer than the whole file's, and never a read past the bound. */
static void truncated_copies_fail_cleanly_or_stay_correct(void)
{
	for (size_t i = 0; i < NMADE; i++) {
		size_t n, cut, fails = 0, oks = 0;
		unsigned char *a = slurp(path_of(made[i].name), &n);
		struct ts_media_info info;
		struct ts_error err;

		if (!a) {
			EXPECT(!"read the file");
			continue;
		}
		for (cut = 0; cut < n; cut += cut < 1024 ? 1 : n / 64 + 1) {
			ts_status st = probe_mem(a, cut, made[i].mime, &info, &err, NULL);
			EXPECT(st == TS_OK || st == 500);
			if (st == TS_OK) {
				oks++;
				EXPECT(info.duration > 0);
				EXPECT(info.duration <= truths[i].duration + made[i].tolerance);
				if (info.has_video) {
					EXPECT_EQ_INT(info.width, truths[i].width);
					EXPECT_EQ_INT(info.height, truths[i].height);
				}
			} else {
				fails++;
			}
		}
		printf("    %-12s %zu truncations: %zu refused, %zu probed\n", made[i].name,
		       oks + fails, fails, oks);
		free(a);
	}
}

/* ---- the read bound, on synthetic files ---- */

/* A virtual file of `size` bytes: a head, then a pattern repeated. */
struct synth {
	const unsigned char *head;
	size_t head_len;
	const unsigned char *unit;
	size_t unit_len;
	uint64_t asked;
};

static ts_status synth_read(void *ctx, uint64_t off, void *buf, size_t n, size_t *got,
                            struct ts_error *err)
{
	struct synth *s = ctx;
	unsigned char *o = buf;

	s->asked += n;
	for (size_t k = 0; k < n; k++) {
		uint64_t at = off + k;
		o[k] = at < s->head_len ? s->head[at] : s->unit[(at - s->head_len) % s->unit_len];
	}
	*got = n;
	return TS_OK;
}

static ts_status probe_synth(struct synth *s, uint64_t size, const char *mime,
                             struct ts_error *err)
{
	struct ts_media_reader rd = { synth_read, s, size };
	struct ts_media_info info;

	ts_error_clear(err);
	s->asked = 0;
	return ts_media_probe(&rd, mime, &info, err);
}

static void a_terabyte_of_tiny_boxes_stops_at_the_read_bound(void)
{
	static const unsigned char ftyp[] = "\0\0\0\x10" "ftypisom\0\0\0\0";
	static const unsigned char freebox[] = "\0\0\0\x08" "free";
	/* EBML header (DocType webm), a Segment of unknown size, then Voids */
	static const unsigned char ebml[] = "\x1A\x45\xDF\xA3\x87\x42\x82\x84webm"
	                                    "\x18\x53\x80\x67\x01\xFF\xFF\xFF\xFF\xFF\xFF\xFF";
	static const unsigned char voidel[] = "\xEC\x81\x00";
	/* a RIFF WAVE file of endless 8-byte "junk" chunks */
	static const unsigned char riff[] = "RIFF\xFF\xFF\xFF\xFFWAVE";
	static const unsigned char junk[] = "junk\0\0\0\0";
	/* an MP3 of endless zeros after a tag */
	static const unsigned char id3[] = "ID3\x03\x00\x00\x00\x00\x00\x00";
	static const unsigned char zero[] = "\0";
	struct synth s;
	struct ts_error err;

	s = (struct synth){ ftyp, 16, freebox, 8, 0 };
	EXPECT_EQ_INT(probe_synth(&s, 1ull << 40, "video/mp4", &err), 500);
	EXPECT(s.asked <= TS_MEDIA_PROBE_MAX_READ);
	s = (struct synth){ ebml, sizeof ebml - 1, voidel, 3, 0 };
	EXPECT_EQ_INT(probe_synth(&s, 1ull << 40, "video/webm", &err), 500);
	EXPECT(s.asked <= TS_MEDIA_PROBE_MAX_READ);
	s = (struct synth){ riff, 12, junk, 8, 0 };
	EXPECT_EQ_INT(probe_synth(&s, 1ull << 40, "audio/wav", &err), 500);
	EXPECT(s.asked <= TS_MEDIA_PROBE_MAX_READ);
	s = (struct synth){ id3, 10, zero, 1, 0 };
	EXPECT_EQ_INT(probe_synth(&s, 1ull << 40, "audio/mpeg", &err), 500);
	EXPECT(s.asked <= TS_MEDIA_PROBE_MAX_READ);
	/* an Ogg file that is all capture patterns */
	static const unsigned char oggs[] = "OggS";
	s = (struct synth){ oggs, 4, oggs, 4, 0 };
	EXPECT_EQ_INT(probe_synth(&s, 1ull << 40, "audio/ogg", &err), 500);
	EXPECT(s.asked <= TS_MEDIA_PROBE_MAX_READ);
}

/* The fuzz target's seeds and every crash it found: the first byte picks
 * the type (as in tests/fuzz/fuzz_media_probe.c), and each must end in a
 * clean status.  Run from the top of the tree. */
static void fuzz_regressions_end_cleanly(void)
{
	static const char *mimes[] = { "audio/mpeg", "audio/mp4", "audio/ogg", "audio/wav",
	                               "audio/flac", "video/mp4", "video/webm", "video/ogg" };
	const char *corpus = "tests/fuzz/corpus/media_probe";
	DIR *d = opendir(corpus);
	struct dirent *de;
	int count = 0;

	while (d && (de = readdir(d))) {
		const char *name = de->d_name;
		char path[700];
		size_t n;
		unsigned char *a;
		struct ts_media_info info;
		struct ts_error err;

		if (name[0] == '.')
			continue;
		snprintf(path, sizeof path, "%s/%s", corpus, name);
		a = slurp(path, &n);
		if (!a || n == 0) {
			free(a);
			continue;
		}
		ts_status st = probe_mem(a + 1, n - 1, mimes[a[0] % 8], &info, &err, NULL);
		EXPECT(st == TS_OK || st == 500);
		if (st == TS_OK)
			EXPECT(info.duration > 0 && info.duration <= TS_MEDIA_MAX_DURATION);
		/* the seeds are whole files ffmpeg made: they must probe */
		if (strncmp(name, "seed-", 5) == 0 && st != TS_OK) {
			printf("    %s: %s\n", name, err.msg);
			EXPECT_EQ_INT(st, TS_OK);
		}
		count++;
		free(a);
	}
	if (d)
		closedir(d);
	if (count == 0)
		printf("    skipped: no %s (run from the top of the tree)\n", corpus);
}

/* RFC 3533's page CRC, bit by bit, to write valid pages here. */
static uint32_t ogg_crc(const unsigned char *b, size_t n)
{
	uint32_t crc = 0;
	for (size_t i = 0; i < n; i++) {
		crc ^= (uint32_t)b[i] << 24;
		for (int k = 0; k < 8; k++)
			crc = crc & 0x80000000u ? crc << 1 ^ 0x04C11DB7u : crc << 1;
	}
	return crc;
}

static void ogg_full_of_false_pages_costs_a_bounded_checksum(void)
{
	/* a valid Opus first page, then a gigabyte of page headers that
	 * claim 64 KB bodies and never match their CRC */
	unsigned char head[27 + 1 + 19], unit[300];
	struct synth s;
	struct ts_error err;
	uint32_t crc;

	memset(head, 0, sizeof head);
	memcpy(head, "OggS\0\x02", 6);
	head[14] = 1;         /* serial 1 */
	head[26] = 1, head[27] = 19;
	memcpy(head + 28, "OpusHead\x01\x02\x38\x01\x80\xBB\0\0\0\0\0", 19);
	crc = ogg_crc(head, sizeof head);
	head[22] = (unsigned char)crc, head[23] = (unsigned char)(crc >> 8);
	head[24] = (unsigned char)(crc >> 16), head[25] = (unsigned char)(crc >> 24);
	memset(unit, 0xFF, sizeof unit);
	memcpy(unit, "OggS\0\0", 6);
	memset(unit + 6, 0x10, 8);   /* a granule */
	memcpy(unit + 14, "\x01\0\0\0", 4);
	unit[26] = 255;
	s = (struct synth){ head, sizeof head, unit, sizeof unit, 0 };
	EXPECT_EQ_INT(probe_synth(&s, 1ull << 30, "audio/ogg", &err), 500);
	EXPECT(s.asked <= TS_MEDIA_PROBE_MAX_READ);

	/* and the same first page with one true last page: 1 s of Opus */
	unsigned char *file = calloc(1, sizeof head + 27 + 1 + 1);
	unsigned char *last = file + sizeof head;
	struct ts_media_info info;
	memcpy(file, head, sizeof head);
	memcpy(last, "OggS\0\x04", 6);
	uint64_t g = 48000 + 312;   /* pre-skip 0x138 = 312 */
	for (int k = 0; k < 8; k++)
		last[6 + k] = (unsigned char)(g >> (8 * k));
	last[14] = 1, last[18] = 1, last[26] = 1, last[27] = 1;
	crc = ogg_crc(last, 29);
	last[22] = (unsigned char)crc, last[23] = (unsigned char)(crc >> 8);
	last[24] = (unsigned char)(crc >> 16), last[25] = (unsigned char)(crc >> 24);
	EXPECT_EQ_INT(probe_mem(file, sizeof head + 29, "audio/ogg", &info, &err, NULL), TS_OK);
	EXPECT(fabs(info.duration - 1.0) < 1e-9);
	/* one bit off and the page is not believed */
	last[28] ^= 1;
	EXPECT_EQ_INT(probe_mem(file, sizeof head + 29, "audio/ogg", &info, &err, NULL), 500);
	free(file);
}

static ts_status failing_read(void *ctx, uint64_t off, void *buf, size_t n, size_t *got,
                              struct ts_error *err)
{
	return ts_error_set(err, 503, "The disk is away.");
}

static void a_read_error_is_passed_on(void)
{
	struct ts_media_reader rd = { failing_read, NULL, 1000 };
	struct ts_media_info info;
	struct ts_error err;

	ts_error_clear(&err);
	EXPECT_EQ_INT(ts_media_probe(&rd, "audio/wav", &info, &err), 503);
	EXPECT_EQ_STR(err.msg, "The disk is away.");
	/* a descriptor that is not open: pread fails, a 500 */
	ts_error_clear(&err);
	EXPECT_EQ_INT(ts_media_probe_fd(-1, 1000, "audio/wav", &info, &err), 500);
	EXPECT(err.msg[0] != '\0');
}

static void tiny_and_empty_files_are_refused(void)
{
	static const char *mimes[] = { "audio/mpeg", "audio/mp4", "audio/ogg", "audio/wav",
	                               "audio/flac", "video/mp4", "video/webm", "video/ogg" };
	struct ts_media_info info;
	struct ts_error err;

	for (size_t k = 0; k < sizeof mimes / sizeof mimes[0]; k++) {
		EXPECT_EQ_INT(probe_mem((const unsigned char *)"", 0, mimes[k], &info, &err, NULL),
		              500);
		EXPECT_EQ_INT(probe_mem((const unsigned char *)"\xFF\xFB", 2, mimes[k], &info, &err,
		                        NULL), 500);
	}
}

int main(void)
{
	char cmd[300];
	int rc;

	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	RUN(a_terabyte_of_tiny_boxes_stops_at_the_read_bound);
	RUN(tiny_and_empty_files_are_refused);
	RUN(a_read_error_is_passed_on);
	RUN(ogg_full_of_false_pages_costs_a_bounded_checksum);
	RUN(fuzz_regressions_end_cleanly);

	have_ffmpeg = system("command -v ffmpeg >/dev/null 2>&1 && "
	                     "command -v ffprobe >/dev/null 2>&1") == 0;
	if (!have_ffmpeg) {
		printf("    skipped: ffmpeg or ffprobe is not installed "
		       "(the comparisons with ffprobe need them)\n");
	} else {
		for (size_t i = 0; i < NMADE; i++)
			if (ffmpeg_make(made[i].name, made[i].args))
				truths[i] = ffprobe(path_of(made[i].name));
		RUN(cbr_mp3_without_a_tag_is_timed_by_its_bit_rate);
		RUN(mp3_with_an_info_or_xing_tag_is_timed_by_its_frame_count);
		RUN(mpeg_2_5_cbr_mp3_is_timed_by_its_bit_rate);
		RUN(mp3_with_a_vbri_frame_is_timed_by_its_frame_count);
		RUN(mp3_behind_a_big_id3v2_tag_is_timed_by_its_audio);
		RUN(ogg_opus_vorbis_and_flac_are_timed_by_the_last_granule);
		RUN(native_flac_is_timed_by_streaminfo);
		RUN(wav_and_rf64_are_timed_by_the_data_chunk);
		RUN(wav_still_streaming_runs_to_the_end_of_the_file);
		RUN(mp4_with_its_index_first_or_last_gives_size_and_duration);
		RUN(fragmented_mp4_is_timed_by_its_last_fragment);
		RUN(audio_only_mp4_has_no_video);
		RUN(webm_vp8_vp9_and_audio_only_agree);
		RUN(matroska_doctype_in_a_webm_name_is_read_too);
		RUN(webm_segment_of_unknown_size_still_gives_its_duration);
		RUN(ogv_theora_gives_frame_size_and_duration);
		RUN(webm_without_duration_asks_for_the_sidecar);
		RUN(patched_huge_durations_are_refused);
		RUN(a_box_past_the_end_of_the_file_is_refused);
		RUN(a_type_that_disagrees_with_the_magic_is_refused);
		RUN(truncated_copies_fail_cleanly_or_stay_correct);
	}
	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	if (system(cmd) != 0)
		printf("    could not remove %s\n", dir);
	rc = CHECK_DONE();
	return rc;
}

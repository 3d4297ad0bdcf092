/* phash.h — the duplicates analysis' image measures, on DUP_SIZE x DUP_SIZE RGB thumbnails:
 *   dup_phash    a 64-bit perceptual hash (Zauner 2010, "pHash"): the luma's 2-D DCT-II, its
 *                8 x 8 lowest frequencies, one bit per coefficient above their median. Written
 *                per item, for matching against other collections.
 *   feature      the same 63 coefficients less the DC term, scaled to unit length (dup_phash
 *                gives both from one DCT; dup_feature_shifted for moved copies): the search
 *                compares these, not the bits. On low-contrast images the bits near the
 *                median flip with a little noise, and a copy moved by 2 pixels differed by up
 *                to 24 of 64 bits from its original at the best shift (synthetic, measured),
 *                while its real-valued coefficients were the nearest of all for every copy.
 *   dup_diff     the confirmation on pixels, of 3 x 3 box-blurred thumbnails (dup_blur:
 *                averaging away pixel noise, keeping structure): mean absolute difference at
 *                the best shift within +-shift pixels, over the mean of the two images' own
 *                contrast (dup_spread), so a dark copy compares like a bright one. */
#ifndef LOUPE_DUP_PHASH_H
#define LOUPE_DUP_PHASH_H

#include <stdint.h>

#define DUP_SIZE 32    /* thumbnail side the analysis works on */
#define DUP_FEATURE 64 /* floats per feature (63 coefficients, one 0 of padding) */

/* the hash and the feature of one thumbnail, from one DCT (feature may be NULL) */
uint64_t dup_phash(const uint8_t *rgb, float *feature);
/* the features of rgb moved by (dx, dy) for dx, dy in -shift .. shift (edges repeated), row by
 * row: (2 shift + 1)^2 of them */
void dup_feature_shifted(const uint8_t *rgb, int shift, float *out);
/* S x S RGB images: */
void dup_blur(const uint8_t *rgb, int S, uint8_t *out);
/* an image's contrast: the mean absolute deviation of its values from its mean colour */
double dup_spread(const uint8_t *rgb, int S);
/* mean |a - b| at the best shift within +-shift pixels (whole pixels, then refined in half and
 * quarter pixels around the best: a copy resampled from another size is moved by a fraction
 * of a thumbnail pixel) over the mean of the two spreads (0: the same; two different pictures
 * score about 0.2 and more); past give_up at whole pixels, no refining */
double dup_diff(const uint8_t *a, double spread_a, const uint8_t *b, double spread_b, int S,
		int shift, double give_up);

#endif

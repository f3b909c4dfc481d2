"""Audio: decoding and writing files, their headers, log-mel and MFCC features, signal measures, the crop/tile window policy."""

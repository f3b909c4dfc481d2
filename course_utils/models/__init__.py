"""The networks: the course's compact convnet and its training, the authors' choi2017, musicnn, the tag metrics."""

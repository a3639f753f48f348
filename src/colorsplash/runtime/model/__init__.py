"""The model file and its run: the config every file carries, loading and checking a file, the variant chosen for
this CPU, and the one preprocessing shared with training. Nothing here decodes a picture."""

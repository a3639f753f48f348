"""From the model's probability to a full-resolution alpha: the subject chosen, and its edges refined (the fast
guided filter or the closed-form matte) with the subject's colours estimated in the edge band."""

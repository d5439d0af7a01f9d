"""Statistics: the indicator catalogue, computation over every capability's facts, regional
figures, disclosure control (``opschub.stats.disclosure``) and publications."""

"""Job routing simulated: traces of routing inputs and outcomes, their replay through the picker's pure code, reports."""

"""`python -m novahunt.sandbox`: serve the demo sandbox until Ctrl-C."""

from novahunt.sandbox import main

main()

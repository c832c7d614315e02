from novahunt.cli.main import main

main()

from taocun.cli import main

main()
